"""The final report of `llamapipe run`, built from the artifacts on disk.

Everything comes from the run directory (stats.json, manifests, metrics.jsonl, results.json),
not from what this process happened to do, so a second `llamapipe run` that skips every stage
prints the same report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from llamapipe.engine.progress import human_bytes
from llamapipe.engine.state import read_json


@dataclass
class RunArtifacts:
    """Where the run's outputs are, for the last table of the report."""

    run_dir: Path
    stages: list[str]
    train_dir: Path | None
    checkpoint: Path | None
    loss_png: Path | None
    results_json: Path | None
    export_dir: Path | None


def stages_table(run_dir: Path, stage_names: list[str]) -> Table:
    """Per stage: documents and bytes in and out, removals by filter, errors, time."""
    table = Table(title="Stages")
    for col in ("stage", "docs in", "docs out", "bytes in", "bytes out"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    table.add_column("removed by filter")
    table.add_column("errors", justify="right")
    table.add_column("time", justify="right")
    for name in stage_names:
        stats = read_json(run_dir / name / "stats.json") or {}
        totals = stats.get("totals", {})
        removed = stats.get("removed", {})
        top = sorted(removed.items(), key=lambda kv: -kv[1])[:5]
        table.add_row(
            name,
            f"{totals.get('docs_in', 0):,}",
            f"{totals.get('docs_out', 0):,}",
            human_bytes(totals.get("bytes_in", 0)),
            human_bytes(totals.get("bytes_out", 0)),
            ", ".join(f"{k} {v:,}" for k, v in top) or "-",
            f"{totals.get('errors', 0):,}",
            f"{stats.get('seconds', 0):.1f}s",
        )
    return table


def training_table(train_dir: Path) -> Table | None:
    """First and last logged step of training: loss, lr, tokens, throughput."""
    metrics = train_dir / "metrics.jsonl"
    if not metrics.exists():
        return None
    import json

    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "loss" in r]
    if not rows:
        return None
    table = Table(title=f"Training ({train_dir.name})")
    for col in ("step", "loss", "lr", "tokens seen", "tokens/s", "MFU"):
        table.add_column(col, justify="right")
    for row in (rows[0], rows[-1]) if len(rows) > 1 else (rows[0],):
        table.add_row(
            str(row.get("step", "")),
            f"{row['loss']:.4f}",
            f"{row.get('lr', 0):.2e}",
            f"{row.get('tokens_seen', row.get('tokens', 0)):,}",
            f"{row.get('tokens_per_s', 0):,.0f}",
            f"{row.get('mfu', 0) * 100:.2f}%" if "mfu" in row else "-",
        )
    return table


def artifacts_table(art: RunArtifacts) -> Table:
    table = Table(title="Artifacts")
    table.add_column("what")
    table.add_column("where")
    table.add_row("run directory", str(art.run_dir))
    for name in ("tokenizer/tokenizer.model", "tokens/manifest.json"):
        if (art.run_dir / name).exists():
            table.add_row(name.split("/")[0], str(art.run_dir / name))
    if art.checkpoint:
        table.add_row("latest checkpoint", str(art.checkpoint))
    if art.loss_png:
        table.add_row("loss curve", str(art.loss_png))
    if art.results_json:
        table.add_row("evaluation results", str(art.results_json))
    if art.export_dir:
        table.add_row("Hugging Face export", str(art.export_dir))
    return table


def render_report(
    art: RunArtifacts,
    mix_table: Table | None,
    results: dict[str, Any] | None,
) -> Group:
    from llamapipe.evaluation.report import results_tables

    parts: list[Any] = [stages_table(art.run_dir, art.stages)]
    if mix_table is not None:
        parts.append(mix_table)
    if art.train_dir is not None:
        train = training_table(art.train_dir)
        if train is not None:
            parts.append(train)
    if results:
        parts.extend(results_tables(results))
    parts.append(artifacts_table(art))
    return Group(*parts)


def report_text(group: Group, width: int = 150) -> str:
    """The report as plain text, for report.txt next to the artifacts."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(group)
    return buffer.getvalue()
