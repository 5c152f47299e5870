"""Shared by the training tests: the tiny run's config and reading back its metrics."""

from __future__ import annotations

import json
from pathlib import Path

from llamapipe.config.train import TrainConfig


def tiny_config(token_run: Path, **overrides: object) -> TrainConfig:
    options: dict[str, object] = {
        "size": "tiny",
        "tokens_dir": str(token_run / "tokens"),
        "global_batch_tokens": 8 * 64,
        "micro_batch_size": 4,
        "max_steps": 12,
        "checkpoint_every": 4,
        "display": "none",
        "seed": 11,
    }
    options.update(overrides)
    return TrainConfig(**options)


def metric_losses(run_dir: Path) -> dict[int, float]:
    lines = (run_dir / "train" / "tiny" / "metrics.jsonl").read_text().splitlines()
    return {record["step"]: record["loss"] for record in map(json.loads, lines)}
