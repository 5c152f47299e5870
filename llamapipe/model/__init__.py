"""llamapipe.model."""
