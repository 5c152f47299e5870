"""llamapipe.sources."""
