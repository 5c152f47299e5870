"""Benchmarks: each module measures llamapipe against a baseline run in the same process."""
