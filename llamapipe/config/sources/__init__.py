"""Per-source config sections, one module per source."""
