"""Progress bars while shards run and the summary table when stages end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from llamapipe.engine.runner import StageResult


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class ShardProgress:
    """A bar of shards with running document and byte counts and throughput."""

    def __init__(self, stage: str, total: int, console: Console) -> None:
        self.stage = stage
        self.total = total
        self.docs = 0
        self.bytes = 0
        self.start = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("shards"),
            TextColumn("{task.fields[docs]} docs"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(stage, total=total, docs=0, rate="")

    def __enter__(self) -> ShardProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def shard_done(self, counters: dict[str, Any]) -> None:
        totals = counters.get("totals", {})
        self.docs += int(totals.get("docs_in", totals.get("docs_out", 0)))
        self.bytes += int(totals.get("bytes_in", totals.get("bytes_out", 0)))
        elapsed = max(time.perf_counter() - self.start, 1e-6)
        self._progress.update(
            self._task,
            advance=1,
            docs=f"{self.docs:,}",
            rate=f"{human_bytes(self.bytes / elapsed)}/s",
        )


def summary_table(results: Sequence[StageResult]) -> Table:
    table = Table(title="llamapipe: stage summary", show_lines=False)
    for col in ("stage", "shards", "docs in", "docs out", "bytes in", "bytes out"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    table.add_column("removed (by filter)")
    table.add_column("errors", justify="right")
    table.add_column("time", justify="right")
    for r in results:
        t = r.counters.totals
        removed = ", ".join(f"{reason} {n:,}" for reason, n in r.counters.removed_by.most_common(6))
        shards = f"{r.shards_total}" if r.skipped else f"{r.shards_run}/{r.shards_total}"
        table.add_row(
            r.name + (" (done)" if r.skipped else ""),
            shards,
            f"{t.get('docs_in', 0):,}",
            f"{t.get('docs_out', 0):,}",
            human_bytes(t.get("bytes_in", 0)),
            human_bytes(t.get("bytes_out", 0)),
            removed or "-",
            f"{t.get('errors', 0):,}",
            f"{r.seconds:.1f}s",
        )
    return table


def print_summary(results: Sequence[StageResult], console: Console) -> None:
    console.print(summary_table(results))
