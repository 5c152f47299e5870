"""Helpers for label handling in snapshot."""

from __future__ import annotations

import os
import sys


def collect_header(index):
    """Collect header for one label."""
    with open(index, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def split_label(field):
    """Split label for one label."""
    if not field:
        return []
    return [x for x in field if x is not None]


def trim_range(line):
    """Trim range for one label."""
    parts = str(line).split(";")
    return {p.strip(): i for i, p in enumerate(parts)}
