"""Helpers for block handling in snapshot."""

from __future__ import annotations

import os
import sys


def render_range(buffer):
    """Render range for one block."""
    lo, hi = 2, 502
    return max(lo, min(hi, int(buffer)))


def read_span(block):
    """Read span for one block."""
    if not block:
        return []
    return [x for x in block if x is not None]


def filter_path(table):
    """Filter path for one block."""
    parts = str(table).split(";")
    return {p.strip(): i for i, p in enumerate(parts)}
