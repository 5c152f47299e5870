"""`llamapipe export --format hf` and `llamapipe import-hf`: Hugging Face Llama directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llamapipe.cli.common import (
    ConfigOption,
    SetOption,
    WaitOption,
    load_cli_config,
    run_dir_lock,
)
from llamapipe.cli.eval import CheckpointOption, SizeOption
from llamapipe.errors import InputError, LlamapipeError


def export_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    size: SizeOption = None,
    checkpoint: CheckpointOption = None,
    format: Annotated[str, typer.Option("--format", help="Export format (hf).")] = "hf",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output dir (default: <run>/export/hf).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rewrite even if current.")] = False,
    wait: WaitOption = False,
) -> None:
    """Export a checkpoint as a Hugging Face LlamaForCausalLM directory.

    config.json, safetensors (sharded above eval.export.max_shard_size), tokenizer files and
    generation_config.json; dtype and shard size come from \\[eval.export].

    Example: llamapipe export -c pipeline.toml --format hf --set eval.export.dtype="bfloat16"
    """
    from llamapipe.export.runner import run_export

    if format != "hf":
        raise InputError(f"--format {format!r}: only 'hf' is supported")
    cfg = load_cli_config(config, overrides, check_inputs=False)
    try:
        with run_dir_lock(cfg, wait):
            path = run_export(cfg, size=size, checkpoint=checkpoint, out_dir=out, force=force)
    except LlamapipeError:
        raise
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise InputError(str(exc)) from exc
    Console().print(f"exported to {path}  (transformers.LlamaForCausalLM.from_pretrained(...))")


def import_command(
    hf_dir: Annotated[Path, typer.Argument(help="A Hugging Face Llama model directory.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint directory to write.")],
) -> None:
    """Import a Hugging Face Llama model directory as a llamapipe checkpoint.

    Reads config.json + safetensors; the checkpoint works with eval/generate --checkpoint and
    as a starting point for training (`llamapipe train --init-from <checkpoint or HF dir>`,
    which also reads the HF directory directly).

    Example: llamapipe import-hf runs/demo/export/hf --out runs/demo/imported/demo-hf
    """
    from llamapipe.export.hf_import import import_hf

    try:
        path = import_hf(hf_dir, out)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise InputError(str(exc)) from exc
    Console().print(f"imported {hf_dir} -> {path}")
