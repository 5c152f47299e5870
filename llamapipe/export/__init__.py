"""llamapipe.export."""
