"""Write and read (possibly sharded) safetensors weights the way Hugging Face lays them out.

One file ``model.safetensors`` when the weights fit under the shard threshold; otherwise
``model-00001-of-0000N.safetensors`` ... plus ``model.safetensors.index.json`` mapping each tensor
to its file, which is what ``from_pretrained`` (and vLLM, llama.cpp's converter) look for.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


def tensor_bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def plan_shards(
    state_dict: dict[str, torch.Tensor], max_shard_bytes: int
) -> list[dict[str, torch.Tensor]]:
    """Split tensors, in their order, into groups of at most ``max_shard_bytes`` each.

    A tensor larger than the threshold gets a shard of its own (tensors are never split).
    """
    if max_shard_bytes <= 0:
        raise ValueError(f"max_shard_bytes must be positive, got {max_shard_bytes}")
    shards: list[dict[str, torch.Tensor]] = [{}]
    used = 0
    for name, tensor in state_dict.items():
        size = tensor_bytes(tensor)
        if shards[-1] and used + size > max_shard_bytes:
            shards.append({})
            used = 0
        shards[-1][name] = tensor
        used += size
    return shards


def write_safetensors(
    state_dict: dict[str, torch.Tensor], out_dir: Path, max_shard_bytes: int
) -> list[Path]:
    """Write the weights (sharded when over the threshold); returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {"format": "pt"}
    shards = plan_shards(state_dict, max_shard_bytes)
    if len(shards) == 1:
        path = out_dir / SINGLE_FILE
        save_file(shards[0], str(path), metadata=metadata)
        return [path]
    written = []
    weight_map: dict[str, str] = {}
    for number, shard in enumerate(shards, start=1):
        name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(out_dir / name), metadata=metadata)
        written.append(out_dir / name)
        weight_map.update({tensor_name: name for tensor_name in shard})
    total = sum(tensor_bytes(t) for t in state_dict.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out_dir / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    written.append(out_dir / INDEX_FILE)
    return written


def read_safetensors(model_dir: Path) -> dict[str, torch.Tensor]:
    """All weights of a Hugging Face model directory, single-file or sharded."""
    model_dir = Path(model_dir)
    index_path = model_dir / INDEX_FILE
    if index_path.exists():
        try:
            weight_map = json.loads(index_path.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError) as exc:
            raise ValueError(f"{index_path}: not a safetensors index ({exc})") from exc
        state_dict: dict[str, torch.Tensor] = {}
        for file_name in sorted(set(weight_map.values())):
            state_dict.update(load_file(str(model_dir / file_name)))
        missing = sorted(set(weight_map) - set(state_dict))
        if missing:
            raise ValueError(f"{index_path}: tensors listed but not found in shards: {missing[:5]}")
        return state_dict
    single = model_dir / SINGLE_FILE
    if single.exists():
        return load_file(str(single))
    raise FileNotFoundError(f"{model_dir}: no {SINGLE_FILE} or {INDEX_FILE}")
