"""`llamapipe run`: every stage of pipeline.toml in order, then one report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from llamapipe.cli.common import (
    ConfigOption,
    ExecutorOption,
    ForceOption,
    SetOption,
    StrictOption,
    WaitOption,
    WorkersOption,
    console,
    load_cli_config,
    out_console,
    run_dir_lock,
)
from llamapipe.config import PipelineConfig
from llamapipe.engine import run_stages
from llamapipe.pipeline import all_stages
from llamapipe.report import RunArtifacts, render_report, report_text


def run_pipeline(cfg: PipelineConfig, *, force: bool = False, skip_export: bool = False) -> Path:
    """Data, tokens, training, evaluation and export; complete steps are skipped. Returns the
    path of the written report."""
    from llamapipe.evaluation.plots import plot_loss_curve
    from llamapipe.evaluation.runner import results_path
    from llamapipe.export.runner import run_export
    from llamapipe.mix.stats import render_data_stats
    from llamapipe.training.checkpoint import latest_checkpoint
    from llamapipe.training.trainer import run_training

    started = time.perf_counter()
    stages = all_stages(cfg)
    run_stages(stages, cfg.run_dir, force=force, console=console, **cfg.executor_kwargs())

    console.rule("train")
    result = run_training(cfg, cfg.train.size)
    train_dir = result.train_dir
    checkpoint = latest_checkpoint(train_dir)

    loss_png = train_dir / "loss.png"
    metrics = train_dir / "metrics.jsonl"
    if not metrics.exists():
        loss_png = None
    elif not loss_png.exists() or loss_png.stat().st_mtime_ns < metrics.stat().st_mtime_ns:
        plot_loss_curve(metrics, loss_png, title=f"{cfg.train.size} training loss")

    console.rule("eval")
    from llamapipe.evaluation.runner import run_eval

    results = run_eval(cfg, size=cfg.train.size, checkpoint=checkpoint, force=force)

    export_dir = None
    if not skip_export:
        console.rule("export")
        export_dir = run_export(cfg, size=cfg.train.size, checkpoint=checkpoint, force=force)

    art = RunArtifacts(
        run_dir=cfg.run_dir,
        stages=[s.name for s in stages],
        train_dir=train_dir,
        checkpoint=checkpoint,
        loss_png=loss_png,
        results_json=results_path(cfg, checkpoint) if checkpoint else None,
        export_dir=export_dir,
    )
    group = render_report(art, render_data_stats(cfg), results)
    out_console.print(group)
    out = cfg.run_dir / "report.txt"
    out.write_text(report_text(group), encoding="utf-8")
    console.print(f"report: {out}  ({time.perf_counter() - started:.0f}s this invocation)")
    return out


def run_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    force: ForceOption = False,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    strict: StrictOption = None,
    skip_export: Annotated[
        bool, typer.Option("--skip-export", help="Do not write the Hugging Face export.")
    ] = False,
    wait: WaitOption = False,
) -> None:
    """Run the whole pipeline: ingest, CCNet, mix, tokenizer, token shards, training,
    evaluation, export; stages already complete are skipped. Ends with one report (also
    written to <run>/report.txt) and the loss curve at <run>/train/<size>/loss.png.

    Example: llamapipe run -c pipeline.toml --workers 2
    """
    cfg = load_cli_config(config, overrides, executor=executor, workers=workers, strict=strict)
    with run_dir_lock(cfg, wait):
        run_pipeline(cfg, force=force, skip_export=skip_export)
