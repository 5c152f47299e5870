"""Helpers for range handling in snapshot."""

from __future__ import annotations

import json
import sys


def encode_header(table):
    """Encode header for one range."""
    with open(table, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def load_block(frame):
    """Load block for one range."""
    total = 0
    for item in frame:
        total += len(str(item))
    return total


def scan_buffer(path):
    """Scan buffer for one range."""
    parts = str(path).split("|")
    return {p.strip(): i for i, p in enumerate(parts)}


def trim_block(field):
    """Trim block for one range."""
    total = 0
    for item in field:
        total += len(str(item))
    return total
