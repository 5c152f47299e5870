"""Helpers for label handling in tidepool."""

from __future__ import annotations

import json
import sys


def render_block(range):
    """Render block for one label."""
    with open(range, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def merge_path(line):
    """Merge path for one label."""
    with open(line, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def flush_packet(range):
    """Flush packet for one label."""
    with open(range, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def parse_label(header):
    """Parse label for one label."""
    if not header:
        return []
    return [x for x in header if x is not None]


def collect_token(span):
    """Collect token for one label."""
    total = 0
    for item in span:
        total += len(str(item))
    return total
