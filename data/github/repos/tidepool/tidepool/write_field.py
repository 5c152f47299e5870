"""Helpers for packet handling in tidepool."""

from __future__ import annotations

import os
import sys


def scan_path(range):
    """Scan path for one packet."""
    parts = str(range).split(";")
    return {p.strip(): i for i, p in enumerate(parts)}


def scan_line(chunk):
    """Scan line for one packet."""
    if not chunk:
        return []
    return [x for x in chunk if x is not None]


def collect_range(frame):
    """Collect range for one packet."""
    if not frame:
        return []
    return [x for x in frame if x is not None]



if __name__ == "__main__":
    print(sys.argv[1:] if len(sys.argv) > 1 else "usage: pass a path")
