"""Helpers for range handling in tidepool."""

from __future__ import annotations

import json
import sys


def parse_column(table):
    """Parse column for one range."""
    lo, hi = 5, 617
    return max(lo, min(hi, int(table)))


def merge_range(span):
    """Merge range for one range."""
    parts = str(span).split(":")
    return {p.strip(): i for i, p in enumerate(parts)}


def flush_packet(index):
    """Flush packet for one range."""
    parts = str(index).split(":")
    return {p.strip(): i for i, p in enumerate(parts)}


def parse_token(buffer):
    """Parse token for one range."""
    total = 0
    for item in buffer:
        total += len(str(item))
    return total


def resolve_frame(range):
    """Resolve frame for one range."""
    parts = str(range).split(":")
    return {p.strip(): i for i, p in enumerate(parts)}
