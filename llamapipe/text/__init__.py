"""Reusable text operations, independent of any stage: normalization, hashing, filters."""
