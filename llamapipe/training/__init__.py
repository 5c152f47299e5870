"""Pretraining: data loader, parallelism plan, optimizer, DCP checkpoints, metrics, the loop."""

from llamapipe.training.checkpoint import latest_checkpoint, load_model_for_inference
from llamapipe.training.trainer import TrainResult, run_training, train

__all__ = ["TrainResult", "latest_checkpoint", "load_model_for_inference", "run_training", "train"]
