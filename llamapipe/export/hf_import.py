"""Import a Hugging Face Llama model directory as a llamapipe checkpoint (to continue training).

The result is a checkpoint directory like the trainer's own (DCP shards of ``{"model": ...}``,
``model_args.json``, ``trainer_state.json`` with step 0), so ``load_model_for_inference`` reads it
and training can start from its weights (``load_training_checkpoint(dir, model, None)`` loads the
model only; there is no optimizer state to resume). The q/k rows are permuted back from HF's
half-split RoPE layout to Meta's interleaved one.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp

from llamapipe.export.hf import EXPORT_RECORD
from llamapipe.export.hf_weights import hf_to_meta_state_dict, model_args_from_hf_config
from llamapipe.export.safetensors_io import read_safetensors
from llamapipe.model.args import ModelArgs
from llamapipe.model.transformer import build_transformer
from llamapipe.training.checkpoint import MODEL_ARGS, TRAINER_STATE


def read_hf_model(hf_dir: Path) -> tuple[dict[str, torch.Tensor], ModelArgs]:
    """Our state dict (float32) and ModelArgs from an HF Llama directory."""
    hf_dir = Path(hf_dir)
    config_path = hf_dir / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_path}: cannot read Hugging Face config: {exc}") from exc
    try:
        args, _ = model_args_from_hf_config(config)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{config_path}: {exc}") from exc
    args = _exported_args(hf_dir, args) or args
    state = hf_to_meta_state_dict(read_safetensors(hf_dir), args)
    state = {name: t.to(torch.float32) for name, t in state.items()}
    expected = build_transformer(args, device="meta").state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ValueError(f"{hf_dir}: weights missing for {missing[:5]}")
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(
                f"{hf_dir}: {name} has shape {tuple(tensor.shape)}, config implies "
                f"{tuple(expected[name].shape)}"
            )
    return state, args


def _exported_args(hf_dir: Path, derived: ModelArgs) -> ModelArgs | None:
    """The exact ModelArgs recorded by our own export, when they describe the same network.

    The FFN width alone does not say which ``multiple_of`` produced it, so a model we exported
    comes back with its original arguments rather than an equivalent spelling of them.
    """
    record_path = hf_dir / EXPORT_RECORD
    if not record_path.exists():
        return None
    try:
        recorded = ModelArgs.from_dict(json.loads(record_path.read_text())["model_args"])
    except (OSError, KeyError, TypeError, ValueError):
        return None
    same_shape = all(
        getattr(recorded, f) == getattr(derived, f)
        for f in ("dim", "n_layers", "n_heads", "kv_heads", "vocab_size", "ffn_hidden_dim")
    ) and (recorded.norm_eps, recorded.rope_theta) == (derived.norm_eps, derived.rope_theta)
    return recorded if same_shape else None


def import_hf(hf_dir: Path, checkpoint_dir: Path) -> Path:
    """Write the HF model at ``hf_dir`` as a llamapipe checkpoint at ``checkpoint_dir``.

    Written under ``<name>.tmp`` and renamed, with trainer_state.json last, as the trainer does.
    """
    state, args = read_hf_model(hf_dir)
    checkpoint_dir = Path(checkpoint_dir)
    tmp = checkpoint_dir.with_name(checkpoint_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    with warnings.catch_warnings():
        # One process, no process group, on purpose: DCP warns that it assumes so.
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.save({"model": state}, checkpoint_id=str(tmp), no_dist=True)
    args.save(tmp / MODEL_ARGS)
    trainer_state = {"step": 0, "tokens": 0, "imported_from": str(Path(hf_dir).resolve())}
    (tmp / TRAINER_STATE).write_text(json.dumps(trainer_state, indent=2) + "\n")
    if checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)
    tmp.rename(checkpoint_dir)
    return checkpoint_dir
