"""Export a llamapipe checkpoint as a Hugging Face ``LlamaForCausalLM`` model directory.

The directory holds config.json, model.safetensors (or shards + index), generation_config.json,
the tokenizer (tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json)
and ``llamapipe_export.json`` recording which checkpoint it came from. It is written to a temporary
sibling and renamed into place, so an interrupted export never leaves a half-written model that
``from_pretrained`` would load.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from llamapipe.export.hf_tokenizer import read_sentencepiece_model, write_hf_tokenizer
from llamapipe.export.hf_weights import hf_config_dict, meta_to_hf_state_dict
from llamapipe.export.safetensors_io import write_safetensors
from llamapipe.model.args import ModelArgs

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
EXPORT_RECORD = "llamapipe_export.json"


@dataclass(frozen=True)
class GenerationDefaults:
    """Sampling defaults written to generation_config.json (what ``model.generate`` uses)."""

    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 256


def _special_ids(tokenizer_model: Path) -> dict[str, int | None]:
    spec = read_sentencepiece_model(tokenizer_model).trainer_spec

    def valid(idx: int) -> int | None:
        return idx if idx >= 0 else None

    return {"bos": valid(spec.bos_id), "eos": valid(spec.eos_id), "pad": valid(spec.pad_id)}


def _generation_config(ids: dict[str, int | None], defaults: GenerationDefaults) -> dict:
    config = {
        "bos_token_id": ids["bos"],
        "eos_token_id": ids["eos"],
        "do_sample": defaults.temperature > 0,
        "max_new_tokens": defaults.max_new_tokens,
    }
    if defaults.temperature > 0:
        config["temperature"] = defaults.temperature
        config["top_p"] = defaults.top_p
    if ids["pad"] is not None:
        config["pad_token_id"] = ids["pad"]
    return config


def write_hf_model(
    state_dict: dict[str, torch.Tensor],
    args: ModelArgs,
    tokenizer_model: Path,
    out_dir: Path,
    *,
    dtype: str = "float32",
    max_shard_bytes: int = 5 * 2**30,
    generation: GenerationDefaults | None = None,
    source: dict | None = None,
) -> list[Path]:
    """Write our model's weights as an HF Llama directory at ``out_dir`` (replaced atomically).

    ``source`` (e.g. the checkpoint path and step) is recorded in ``llamapipe_export.json``.
    Returns the files written (final paths).
    """
    if dtype not in DTYPES:
        raise ValueError(f"unknown export dtype {dtype!r}; choose one of {sorted(DTYPES)}")
    tokenizer_model = Path(tokenizer_model)
    ids = _special_ids(tokenizer_model)
    hf_state = meta_to_hf_state_dict(state_dict, args)
    hf_state = {name: t.to(DTYPES[dtype]).contiguous() for name, t in hf_state.items()}
    vocab_in_tokenizer = len(read_sentencepiece_model(tokenizer_model).pieces)
    if vocab_in_tokenizer > args.vocab_size:
        raise ValueError(
            f"{tokenizer_model}: tokenizer has {vocab_in_tokenizer} pieces but the model's "
            f"vocab_size is {args.vocab_size}"
        )
    intermediate = hf_state["model.layers.0.mlp.gate_proj.weight"].shape[0]

    out_dir = Path(out_dir)
    tmp_dir = out_dir.with_name(out_dir.name + ".tmp")
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    tmp_dir.mkdir(parents=True)
    config = hf_config_dict(args, intermediate, ids["bos"], ids["eos"], ids["pad"], dtype)
    (tmp_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    generation_config = _generation_config(ids, generation or GenerationDefaults())
    (tmp_dir / "generation_config.json").write_text(json.dumps(generation_config, indent=2) + "\n")
    write_safetensors(hf_state, tmp_dir, max_shard_bytes)
    write_hf_tokenizer(tokenizer_model, tmp_dir, model_max_length=args.max_seq_len)
    record = {"format": "hf", "dtype": dtype, "model_args": args.to_dict(), **(source or {})}
    (tmp_dir / EXPORT_RECORD).write_text(json.dumps(record, indent=2, default=str) + "\n")

    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp_dir.rename(out_dir)
    return sorted(out_dir.iterdir())


def export_hf(
    checkpoint_dir: Path,
    tokenizer_model: Path,
    out_dir: Path,
    *,
    dtype: str = "float32",
    max_shard_bytes: int = 5 * 2**30,
    generation: GenerationDefaults | None = None,
    extra_record: dict | None = None,
) -> list[Path]:
    """Export a training checkpoint (DCP + model_args.json) to an HF directory at ``out_dir``.

    ``extra_record`` is added to llamapipe_export.json (the runner's staleness key).
    """
    from llamapipe.training.checkpoint import load_model_for_inference

    checkpoint_dir = Path(checkpoint_dir)
    model, args = load_model_for_inference(checkpoint_dir, device="cpu")
    return write_hf_model(
        model.state_dict(),
        args,
        tokenizer_model,
        out_dir,
        dtype=dtype,
        max_shard_bytes=max_shard_bytes,
        generation=generation,
        source={
            "checkpoint": str(checkpoint_dir.resolve()),
            "checkpoint_name": checkpoint_dir.name,
            **(extra_record or {}),
        },
    )
