"""llamapipe: the LLaMA pretraining recipe end to end, from raw public data to a trained model."""

__version__ = "0.1.0"
