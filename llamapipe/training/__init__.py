"""llamapipe.training."""
