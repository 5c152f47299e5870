"""`llamapipe train`: pretrain a LLaMA size on the run's token shards, or plan a run (--dry-run)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from llamapipe.cli.common import (
    ConfigOption,
    SetOption,
    WaitOption,
    console,
    load_cli_config,
    out_console,
    run_dir_lock,
)
from llamapipe.errors import ConfigError

#: The options of `llamapipe train` (the dry-run ones say so in their help).
SizeOption = Annotated[
    str | None,
    typer.Option("--size", help="7b 13b 33b 65b llama2-7b llama2-13b llama2-70b tiny demo."),
]

StepsOption = Annotated[
    int | None,
    typer.Option(
        "--steps", help="Stop at this global step (the LR schedule still spans max_steps)."
    ),
]

ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume/--no-resume",
        help="Continue from the newest checkpoint (--no-resume deletes them and starts over).",
    ),
]

InitFromOption = Annotated[
    Path | None,
    typer.Option(
        "--init-from",
        help="Start from these weights: a Hugging Face Llama dir or a llamapipe checkpoint "
        "(model shape from its config; fresh optimizer, schedule and data order).",
    ),
]

DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Print memory, time, GPU-hours, energy, carbon; no run."),
]

GpusOption = Annotated[int, typer.Option("--gpus", help="Dry run: number of GPUs.")]

GpuOption = Annotated[
    str, typer.Option("--gpu", help="Dry run: a100-80gb a100-40gb h100-80gb h200 v100-32gb.")
]

TpOption = Annotated[
    int | None, typer.Option("--tp", help="Tensor-parallel degree (default train.tp).")
]

MfuOption = Annotated[
    float | None,
    typer.Option("--mfu", help="Dry run: model FLOPs utilisation, e.g. 0.45."),
]

TokensPerGpuSOption = Annotated[
    float | None,
    typer.Option("--tokens-per-gpu-s", help="Dry run: measured throughput per GPU."),
]

ThroughputOption = Annotated[
    str,
    typer.Option(
        "--throughput",
        help="Dry run without --mfu/--tokens-per-gpu-s: paper-65b (380 tokens/s/GPU's "
        "MFU for every size) or table15 (the MFU Table 15 implies for this size).",
    ),
]

ActivationCheckpointingOption = Annotated[
    str | None,
    typer.Option("--ac", help="none | selective | full (default train.activation_checkpointing)."),
]

MicroBatchOption = Annotated[
    int | None, typer.Option("--micro-batch", help="Sequences per micro batch per GPU.")
]


def train_command(
    size: SizeOption = None,
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    steps: StepsOption = None,
    resume: ResumeOption = True,
    init_from: InitFromOption = None,
    dry_run: DryRunOption = False,
    gpus: GpusOption = 2048,
    gpu: GpuOption = "a100-80gb",
    tp: TpOption = None,
    mfu: MfuOption = None,
    tokens_per_gpu_s: TokensPerGpuSOption = None,
    throughput: ThroughputOption = "paper-65b",
    activation_checkpointing: ActivationCheckpointingOption = None,
    micro_batch: MicroBatchOption = None,
    wait: WaitOption = False,
) -> None:
    """Pretrain LLaMA with AdamW, warmup + cosine, FSDP2 (+ tensor parallel), DCP checkpoints.

    One process on CPU, or under torchrun on GPUs/nodes (rank and world size come from the
    environment). Writes <run>/train/<size>/checkpoints/step_NNNNNN/, metrics.jsonl and
    manifest.json; a killed run continues exactly where its last checkpoint left off.

    Examples:
      llamapipe train --size demo -c pipeline.toml
      torchrun --nproc_per_node 8 -m llamapipe train --size 7b --set train.precision=bf16
      llamapipe train --size 65b --dry-run --gpus 2048 --gpu a100-80gb --tp 8
    """
    extra = _flag_overrides(overrides, tp, activation_checkpointing, micro_batch, init_from)
    if dry_run:
        _dry_run(
            Path(config),
            extra,
            size,
            gpus,
            gpu,
            mfu,
            activation_checkpointing,
            tokens_per_gpu_s=tokens_per_gpu_s,
            throughput=throughput,
        )
        return
    from llamapipe.training.trainer import run_training

    cfg = load_cli_config(Path(config), extra, check_inputs=False)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    # Under torchrun only global rank 0 holds the run dir's lock (one holder per run, even
    # across nodes); the other ranks wait for it in the process group's rendezvous.
    with run_dir_lock(cfg, wait) if main_rank else contextlib.nullcontext():
        result = run_training(cfg, size or cfg.train.size, steps=steps, resume=resume)
    if main_rank:  # under torchrun only rank 0 reports
        _print_result(result)


def _flag_overrides(
    overrides: list[str] | None,
    tp: int | None,
    activation_checkpointing: str | None,
    micro_batch: int | None,
    init_from: Path | None,
) -> list[str]:
    """The --set overrides, plus the train.* keys that the shortcut flags stand for."""
    extra = list(overrides or [])
    if tp is not None:
        extra.append(f"train.tp={tp}")
    if activation_checkpointing is not None:
        extra.append(f'train.activation_checkpointing="{activation_checkpointing}"')
    if micro_batch is not None:
        extra.append(f"train.micro_batch_size={micro_batch}")
    if init_from is not None:
        extra.append(f"train.init_from={json.dumps(str(init_from.expanduser().resolve()))}")
    return extra


def _print_result(result: Any) -> None:
    """One line: the steps trained and the final loss, or that there was nothing to train."""
    if result.losses:
        console.print(
            f"trained {result.train_dir.name} steps {result.start_step + 1}-{result.final_step} "
            f"of {result.total_steps}; final loss {result.losses[-1]:.4f}; "
            f"checkpoint {result.last_checkpoint}"
            + (f"; initialised from {result.init_from}" if result.init_from else "")
        )
    else:
        console.print(
            f"{result.train_dir.name}: already at step {result.final_step} of "
            f"{result.total_steps}; nothing to train ({result.last_checkpoint})"
        )


def _dry_run(
    config: Path,
    extra: list[str],
    size: str | None,
    gpus: int,
    gpu: str,
    mfu: float | None,
    activation_checkpointing: str | None,
    *,
    tokens_per_gpu_s: float | None = None,
    throughput: str = "paper-65b",
) -> None:
    from llamapipe.config.train import TrainConfig
    from llamapipe.training.plan import plan_training, render_plan

    if config.exists():
        train_cfg = load_cli_config(config, extra, check_inputs=False).train
    else:  # planning needs no pipeline.toml
        train_cfg = TrainConfig()
        for item in extra:
            key, _, value = item.partition("=")
            if not key.startswith("train."):
                raise ConfigError(f"--set {item}: only train.* keys apply to a dry run")
            setattr(train_cfg, key.removeprefix("train."), value.strip('"'))
    try:
        estimate = plan_training(
            size or train_cfg.size,
            gpus=gpus,
            gpu=gpu,
            tp=train_cfg.tp,
            activation_checkpointing=activation_checkpointing or "selective",
            mfu=mfu,
            micro_batch=train_cfg.micro_batch_size,
            seq_len=train_cfg.seq_len,
            tokens_per_gpu_s=tokens_per_gpu_s,
            throughput=throughput,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    render_plan(estimate, out_console)
