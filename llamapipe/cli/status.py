"""`llamapipe status`: where each stage of the run stands."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from llamapipe.cli.common import ConfigOption, SetOption, load_cli_config, out_console
from llamapipe.config import PipelineConfig
from llamapipe.engine import stage_status
from llamapipe.engine.state import read_json
from llamapipe.pipeline import all_stages

STATE_STYLE = {"complete": "green", "partial": "yellow", "stale": "red", "missing": "dim"}


def model_rows(cfg: PipelineConfig) -> list[tuple[str, str, str, Path, str]]:
    """Training, evaluation and export are not sharded stages; their state comes from the
    training manifest, the newest checkpoint and the files they write."""
    from llamapipe.training.checkpoint import latest_checkpoint

    size = cfg.train.size
    train_dir = cfg.run_dir / "train" / size
    manifest = read_json(train_dir / "manifest.json") or {}
    checkpoint = latest_checkpoint(train_dir) if train_dir.exists() else None
    step, total = manifest.get("step"), manifest.get("total_steps")
    if checkpoint is None:
        train = ("missing", "-", "")
    elif step is not None and step == total:
        train = ("complete", f"step {step}/{total}", checkpoint.name)
    else:
        train = ("partial", f"step {step}/{total}", f"resumes from {checkpoint.name}")
    rows = [(f"train/{size}", *train, train_dir)]
    if checkpoint is not None:
        results = cfg.run_dir / "eval" / f"{size}-{checkpoint.name}" / "results.json"
        state = "complete" if results.exists() else "missing"
        rows.append((f"eval/{size}-{checkpoint.name}", state, "-", "", results.parent))
    export = cfg.run_dir / "export" / "hf"
    record = read_json(export / "llamapipe_export.json") or {}
    if not record:
        rows.append(("export/hf", "missing", "-", "", export))
    else:
        current = checkpoint is not None and record.get("checkpoint") == str(checkpoint)
        note = f"from {record.get('checkpoint_name')}"
        rows.append(("export/hf", "complete" if current else "stale", "-", note, export))
    return [(name, state, progress, str(path), note) for name, state, progress, note, path in rows]


def status_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
) -> None:
    """Show each stage: complete, partial (k of n shards), stale (and why) or missing.

    Example: llamapipe status -c pipeline.toml
    """
    cfg = load_cli_config(config, overrides, check_inputs=False)
    table = Table(title=f"llamapipe status: {cfg.run_dir}")
    for col in ("stage", "state", "progress", "path", "note"):
        table.add_column(col)
    for spec in all_stages(cfg):
        st = stage_status(spec, cfg.run_dir)
        shards = f"{st.done}/{st.total} shards" if st.total else "-"
        row = (spec.name, st.state, shards, str(st.path), st.reason)
        table.add_row(row[0], f"[{STATE_STYLE[row[1]]}]{row[1]}[/]", *row[2:])
    for name, state, progress, path, note in model_rows(cfg):
        table.add_row(name, f"[{STATE_STYLE[state]}]{state}[/]", progress, path, note)
    out_console.print(table)
