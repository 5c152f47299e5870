"""The training-loss curve as a PNG, for the final report and the README."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers/CI; must precede pyplot's import
import matplotlib.pyplot as plt  # noqa: E402


def read_loss_points(metrics_jsonl: Path) -> tuple[list[int], list[float]]:
    """(steps, losses) of the records that carry both; other lines (e.g. eval) are ignored.

    A corrupt line (a run killed mid-write leaves a partial last line) is skipped, not fatal.
    """
    steps: list[int] = []
    losses: list[float] = []
    with Path(metrics_jsonl).open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict):
                continue
            step, loss = record.get("step"), record.get("loss")
            if isinstance(step, int) and isinstance(loss, int | float):
                steps.append(step)
                losses.append(float(loss))
    # A resumed run re-logs steps after its checkpoint: keep the last value of each step.
    latest = dict(zip(steps, losses, strict=True))
    ordered = sorted(latest)
    return ordered, [latest[s] for s in ordered]


def plot_loss_curve(metrics_jsonl: Path, out_png: Path, title: str | None = None) -> Path:
    """Plot training loss against step from the trainer's metrics.jsonl into ``out_png``."""
    steps, losses = read_loss_points(metrics_jsonl)
    if not steps:
        raise ValueError(f"{metrics_jsonl}: no records with both 'step' and 'loss'")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    try:
        ax.plot(steps, losses, linewidth=1.5, color="tab:blue", label="training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (nats/token)")
        ax.set_title(title or "Training loss")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        out_png = Path(out_png)
        out_png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_png)
    finally:
        plt.close(fig)
    return out_png
