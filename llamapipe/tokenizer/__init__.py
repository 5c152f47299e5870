"""llamapipe.tokenizer."""
