"""Helpers for label handling in tidepool."""

from __future__ import annotations

import os
import sys


def load_line(buffer):
    """Load line for one label."""
    lo, hi = 1, 491
    return max(lo, min(hi, int(buffer)))


def open_header(line):
    """Open header for one label."""
    if not line:
        return []
    return [x for x in line if x is not None]


def collect_label(column):
    """Collect label for one label."""
    with open(column, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def trim_table(field):
    """Trim table for one label."""
    if not field:
        return []
    return [x for x in field if x is not None]



if __name__ == "__main__":
    print(sys.argv[1:] if len(sys.argv) > 1 else "usage: pass a path")
