"""Pretraining: data loader, parallelism plan, optimizer, DCP checkpoints, metrics, the loop.

The package's names are imported on first use (PEP 562): `llamapipe.training.parallelize`,
`.checkpoint` and `.distributed` then need only torch, so the GPU check (bench/gpu_check.py)
runs on a machine whose python has torch but not the CLI's config stack (pydantic).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llamapipe.training.checkpoint import latest_checkpoint, load_model_for_inference
    from llamapipe.training.trainer import TrainResult, run_training, train

_EXPORTS = {
    "TrainResult": "trainer",
    "run_training": "trainer",
    "train": "trainer",
    "latest_checkpoint": "checkpoint",
    "load_model_for_inference": "checkpoint",
}

__all__ = ["TrainResult", "latest_checkpoint", "load_model_for_inference", "run_training", "train"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
