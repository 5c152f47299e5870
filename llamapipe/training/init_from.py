"""Start a training run from existing weights (`llamapipe train --init-from`).

A source is either a Hugging Face Llama directory (config.json + safetensors, e.g. a downloaded
Llama 2 or our own export) or a llamapipe checkpoint (model_args.json + DCP shards, e.g. one
written by `llamapipe import-hf` or another run). The model's shape comes from the source's own
config, whatever the --size preset says; the preset only supplies the optimisation defaults
(learning rate, batch, warmup) and names the run directory. Optimizer, schedule and data order
start fresh: this is a new run whose step 0 is the source's weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from llamapipe.model.args import ModelArgs
from llamapipe.training.checkpoint import MODEL_ARGS, TRAINER_STATE, saved_keys
from llamapipe.training.state import LOADER, SCHEDULER


@dataclass(frozen=True)
class InitSource:
    """Where the initial weights come from, and what kind of directory it is."""

    path: Path
    kind: str  # "hf" | "checkpoint"

    def describe(self) -> str:
        return f"{self.kind}:{self.path}"


def classify_source(path: str | Path) -> InitSource:
    """An HF model dir (config.json) or a llamapipe checkpoint (model_args.json); else an error."""
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: --init-from source directory not found")
    if (path / MODEL_ARGS).exists():
        return InitSource(path, "checkpoint")
    if (path / "config.json").exists():
        return InitSource(path, "hf")
    raise ValueError(
        f"{path}: neither a Hugging Face model directory (config.json + *.safetensors) nor a "
        f"llamapipe checkpoint ({MODEL_ARGS} + DCP shards)"
    )


def read_source(source: InitSource) -> tuple[dict[str, torch.Tensor], ModelArgs]:
    """The full (unsharded, float32, CPU) state dict of our Transformer, and its ModelArgs."""
    if source.kind == "hf":
        from llamapipe.export.hf_import import read_hf_model

        return read_hf_model(source.path)
    from llamapipe.training.checkpoint import load_model_for_inference

    model, args = load_model_for_inference(source.path, device="cpu")
    state = {name: t.detach().float() for name, t in model.state_dict().items()}
    return state, args


def is_weights_only(checkpoint: Path) -> bool:
    """True for a checkpoint without optimizer/scheduler/loader state (`llamapipe import-hf`).

    Such a checkpoint cannot be resumed exactly; the trainer starts a fresh run from its
    weights instead (as with --init-from).
    """
    try:
        state = json.loads((Path(checkpoint) / TRAINER_STATE).read_text())
        saved = saved_keys(Path(checkpoint))
    except (OSError, json.JSONDecodeError):
        return False
    # Older checkpoints kept scheduler and loader in trainer_state.json (checkpoint.py).
    in_dcp = all(any(key.startswith(f"{name}.") for key in saved) for name in (SCHEDULER, LOADER))
    return not in_dcp and ("scheduler" not in state or "loader" not in state)
