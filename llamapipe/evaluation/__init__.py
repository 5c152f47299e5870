"""llamapipe.evaluation."""
