"""`llamapipe eval`: held-out perplexity per source and task scores of a checkpoint."""

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
from llamapipe.config import PipelineConfig
from llamapipe.errors import InputError, LlamapipeError

SizeOption = Annotated[
    str | None,
    typer.Option("--size", help="Model size to evaluate (default: train.size)."),
]
CheckpointOption = Annotated[
    Path | None,
    typer.Option("--checkpoint", help="Checkpoint directory (default: the newest of the size)."),
]


def eval_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    size: SizeOption = None,
    checkpoint: CheckpointOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Recompute even if results.json is current.")
    ] = False,
    all_checkpoints: Annotated[
        bool,
        typer.Option("--all", help="Evaluate every kept checkpoint of the size, oldest first."),
    ] = False,
    wait: WaitOption = False,
) -> None:
    """Evaluate a checkpoint: held-out perplexity per source and every configured task.

    Perplexity on each source's validation tokens, then every task of \\[eval.tasks]
    (zero/few-shot): multiple choice, WinoGrande partial scoring, LAMBADA, closed-book QA
    (exact match), GSM8K / MATH (final answer, maj@k), HumanEval (pass@k, sandboxed). Results
    accumulate in <run>/eval/<size>-<checkpoint>/results.json (only new or changed tasks are
    computed); prints the tables, including the paper's layout.

    Example: llamapipe eval -c pipeline.toml --size demo --set eval.batch_size=16
    """
    cfg = load_cli_config(config, overrides, check_inputs=False)
    with run_dir_lock(cfg, wait):
        _evaluate(cfg, size, checkpoint, force, all_checkpoints)


def _evaluate(
    cfg: PipelineConfig,
    size: str | None,
    checkpoint: Path | None,
    force: bool,
    all_checkpoints: bool,
) -> None:
    from llamapipe.evaluation.report import results_tables
    from llamapipe.evaluation.runner import results_path, run_eval
    from llamapipe.training.checkpoint import list_checkpoints

    targets: list[Path | None] = [checkpoint]
    if all_checkpoints:
        train_dir = cfg.run_dir / "train" / (size or cfg.train.size)
        targets = list(list_checkpoints(train_dir))
        if not targets:
            raise InputError(f"{train_dir}: no complete checkpoint (run `llamapipe train`)")
    out = Console()
    for target in targets:
        try:
            results = run_eval(cfg, size=size, checkpoint=target, force=force)
        except LlamapipeError:
            raise
        except (FileNotFoundError, ValueError) as exc:
            raise InputError(str(exc)) from exc
        for table in results_tables(results):
            out.print(table)
        out.print(f"results: {results_path(cfg, Path(results['checkpoint']))}")
