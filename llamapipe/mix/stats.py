"""The `llamapipe data stats` table: each source's contribution to the mix, next to Table 1.

Documents and bytes are those of the training split (after cross-source dedup and the held-out
split) once ``llamapipe tokenize`` has run, and the ingest stage's output before that. "dup in
source" counts the exact repeats each source dropped at ingest, "dup across" the documents the
mix dropped because a higher-priority source has them (``mix.dedup_sources``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from llamapipe.engine.progress import human_bytes
from llamapipe.engine.state import read_json
from llamapipe.sources import SOURCES
from llamapipe.tokenizer import layout

COLUMNS = (
    "source",
    "documents",
    "bytes",
    "held out",
    "dup in source",
    "dup across",
    "unique tokens",
    "tokens in mix",
    "share %",
    "target %",
    "epochs",
    "paper share %",
    "paper epochs",
)


def render_data_stats(cfg: Any) -> Table:
    """The table for a PipelineConfig (reads ``<run>/tokens/manifest.json`` and ingest stats)."""
    return render_run_stats(Path(cfg.run_dir))


def render_run_stats(run_dir: Path) -> Table:
    tokens = read_json(run_dir / layout.TOKENS_MANIFEST) or {}
    per_source: dict[str, Any] = tokens.get("sources", {})
    title = f"llamapipe data stats: {run_dir}"
    if tokens:
        title += f" ({tokens['total_tokens']:,} training tokens)"
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "source" else "right")
    for name, source in SOURCES.items():
        mix = per_source.get(name)
        ingest = read_json(run_dir / layout.ingest_stage(name) / "stats.json") or {}
        if mix is not None:
            documents, nbytes = mix["documents"], mix["bytes"]
        else:
            totals = ingest.get("totals")
            documents = totals.get("docs_out") if totals else None
            nbytes = totals.get("bytes_out") if totals else None
        table.add_row(
            name,
            _count(documents),
            _bytes(nbytes),
            _count(mix["valid_documents"]) if mix else "-",
            _count(in_source_duplicates(ingest)),
            _count(mix.get("duplicates_dropped")) if mix else "-",
            _count(mix["unique_tokens"]) if mix else "-",
            _count(mix["tokens_in_mix"]) if mix else "-",
            f"{mix['share'] * 100:.2f}" if mix else "-",
            f"{mix['target_share'] * 100:.2f}" if mix else "-",
            f"{mix['epochs']:.2f}" if mix else "-",
            f"{source.share:.1f}",
            "-" if source.epochs is None else f"{source.epochs:.2f}",
        )
    return table


#: The removal reasons of an ingest stage that are exact repeats of an earlier document of the
#: same source (sources/document_dedup.py; CommonCrawl's own final stage).
IN_SOURCE_DUPLICATE_REASONS = ("duplicate", "exact_duplicate_document")


def in_source_duplicates(ingest_stats: dict[str, Any]) -> int | None:
    """Documents an ingest stage dropped as repeats inside its source (None: not run yet)."""
    if not ingest_stats:
        return None
    removed = ingest_stats.get("removed", {})
    return sum(int(removed.get(reason, 0)) for reason in IN_SOURCE_DUPLICATE_REASONS)


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _bytes(value: int | None) -> str:
    return "-" if value is None else human_bytes(value)


def render_filter_cpu(cfg: Any) -> Table | None:
    """CPU seconds per filter of every built stage that ran filters (stats.json
    ``filter_cpu_s``, summed over shards), in build order; None when no stage has any."""
    from llamapipe.pipeline import data_stages

    run_dir = Path(cfg.run_dir)
    table = Table(title="CPU seconds per filter")
    for column in ("stage", "filter", "CPU s", "% of stage's filters"):
        table.add_column(column, justify="left" if column in ("stage", "filter") else "right")
    rows = 0
    for spec in data_stages(cfg):
        seconds = (read_json(run_dir / spec.name / "stats.json") or {}).get("filter_cpu_s")
        if not seconds:
            continue
        total = sum(seconds.values())
        for k, (name, value) in enumerate(sorted(seconds.items(), key=lambda kv: -kv[1])):
            share = f"{100 * value / total:.1f}" if total else "-"
            table.add_row(spec.name if k == 0 else "", name, f"{value:.3f}", share)
            rows += 1
        table.add_section()
    return table if rows else None
