"""Export the run's newest checkpoint to ``<run>/export/hf`` (what ``llamapipe run`` calls).

Idempotent: when the directory's ``llamapipe_export.json`` names the same checkpoint, tokenizer
and settings, nothing is rewritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from llamapipe.export.hf import EXPORT_RECORD, GenerationDefaults, export_hf


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def export_dir(cfg: Any) -> Path:
    from llamapipe.evaluation.runner import resolve

    configured = cfg.eval.export.out_dir
    return resolve(configured, cfg.base_dir) if configured else cfg.run_dir / "export" / "hf"


def run_export(
    cfg: Any,
    *,
    size: str | None = None,
    checkpoint: Path | None = None,
    out_dir: Path | None = None,
    force: bool = False,
) -> Path:
    """Export a checkpoint of the run (default: the newest of ``cfg.train.size``) as HF Llama."""
    from llamapipe.evaluation.runner import checkpoint_fingerprint, find_checkpoint, tokenizer_path

    export_cfg = cfg.eval.export
    checkpoint = find_checkpoint(cfg, size, checkpoint)
    tokenizer = tokenizer_path(cfg)
    if not tokenizer.exists():
        raise FileNotFoundError(f"{tokenizer}: tokenizer model not found (run the tokenizer)")
    out_dir = Path(out_dir) if out_dir is not None else export_dir(cfg)
    wanted = {
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_fingerprint": checkpoint_fingerprint(checkpoint),
        "tokenizer_digest": _digest(tokenizer),
        "dtype": export_cfg.dtype,
        "max_shard_bytes": export_cfg.max_shard_bytes,
        "generation": cfg.eval.generate.model_dump(include={"temperature", "top_p"}),
    }
    record_path = out_dir / EXPORT_RECORD
    if not force and record_path.exists():
        try:
            record = json.loads(record_path.read_text())
        except json.JSONDecodeError:
            record = {}
        if all(record.get(key) == value for key, value in wanted.items()):
            return out_dir
    generate = cfg.eval.generate
    export_hf(
        checkpoint,
        tokenizer,
        out_dir,
        dtype=export_cfg.dtype,
        max_shard_bytes=export_cfg.max_shard_bytes,
        generation=GenerationDefaults(
            temperature=generate.temperature,
            top_p=generate.top_p,
            max_new_tokens=generate.max_new_tokens,
        ),
        extra_record=wanted,
    )
    return out_dir
