"""A random sample of the documents a stage kept or removed, to judge a filter by reading pages.

`llamapipe data sample <stage> [--removed REASON | --kept]` (cli/data.py). Only the rows drawn
are read: the row counts come from the Parquet footers and the reasons from one column of
removed/, so sampling a crawl-sized stage reads a few row groups, not the stage.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from llamapipe.engine.state import read_manifest
from llamapipe.errors import ConfigError
from llamapipe.filters.removed import REMOVED_DIR
from llamapipe.formats.documents import Document, meta_decoder

#: Characters of text shown per document unless --full.
DEFAULT_CHARS = 600
#: Meta keys shown per document, and characters per value, in the readable view.
META_KEYS_SHOWN = 10
META_VALUE_CHARS = 60


@dataclass
class Sampled:
    """One drawn document: where it is, and, for a removed one, why it went."""

    doc: Document
    shard: str
    row: int
    filter: str | None = None
    reason: str | None = None
    score: float | None = None
    stage: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.doc.id,
            "source": self.doc.source,
            "stage": self.stage,
            "shard": self.shard,
            "row": self.row,
            "filter": self.filter,
            "reason": self.reason,
            "score": self.score,
            "meta": self.doc.meta,
            "text": self.doc.text,
        }


def check_stage(run_dir: Path, stage: str, known: list[str]) -> Path:
    """The stage's folder, or a one-line error: an unknown stage, a stage not built."""
    if stage not in known:
        raise ConfigError(f"unknown stage {stage!r}; the stages of this run: {', '.join(known)}")
    stage_dir = run_dir / stage
    manifest = read_manifest(stage_dir)
    if manifest is None:
        raise ConfigError(
            f"stage {stage} is not built ({stage_dir} has no manifest.json): "
            "run `llamapipe data build` first"
        )
    return stage_dir


def sample_kept(stage_dir: Path, stage: str, n: int, seed: int) -> list[Sampled]:
    """``n`` documents of ``shards/``, drawn uniformly with ``seed``, in shard order."""
    files = sorted((stage_dir / "shards").glob("*.parquet"))
    if not files:
        raise ConfigError(f"stage {stage} has no shards/ ({stage_dir}): it writes no documents")
    counts = [pq.ParquetFile(str(p)).metadata.num_rows for p in files]
    picked = _draw(sum(counts), n, seed)
    return [
        Sampled(doc, path.stem, row, stage=stage)
        for path, row, doc in _read_rows(files, counts, picked, _document_rows)
    ]


def removed_reasons(stage_dirs: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The removed/ files of these stages and the (filter, reason) of each row, in order."""
    files = [p for d in stage_dirs for p in sorted((d / REMOVED_DIR).glob("*.parquet"))]
    rows: list[tuple[str, str]] = []
    for path in files:
        table = pq.read_table(str(path), columns=["filter", "reason"])
        filters, reasons = table.column("filter").to_pylist(), table.column("reason").to_pylist()
        rows.extend(zip(filters, reasons, strict=True))
    return files, rows


def sample_removed(
    run_dir: Path, stage: str, stages: list[str], which: str | None, n: int, seed: int
) -> list[Sampled]:
    """``n`` documents that ``stages`` removed (a source's final stage and its sub-stages, so
    that ``ingest/<source>`` covers every removal of the source, as its stats.json does) whose
    reason or filter name is ``which`` (None: any)."""
    files, rows = removed_reasons([run_dir / name for name in stages])
    if not files:
        raise ConfigError(
            f"stage {stage} has no removed/ documents ({run_dir / stage / REMOVED_DIR}): set "
            f"sources.{_source_of(stage)}.write_removed = true (or sources.write_removed = true "
            "for every source) and rebuild it with `llamapipe data build --force`"
        )
    matching = [i for i, (f, r) in enumerate(rows) if which is None or which in (f, r)]
    if not matching:
        present = Counter(r for _, r in rows)
        listed = ", ".join(f"{r} ({k})" for r, k in present.most_common()) or "none"
        raise ConfigError(
            f"stage {stage}: no removed document has reason or filter {which!r}; "
            f"reasons present: {listed}"
        )
    picked = sorted(matching[i] for i in _draw(len(matching), n, seed))
    counts = [pq.ParquetFile(str(p)).metadata.num_rows for p in files]
    return [
        Sampled(doc, path.stem, row, *extra, stage=str(path.parent.parent.relative_to(run_dir)))
        for path, row, (doc, *extra) in _read_rows(files, counts, picked, _removed_rows)
    ]


def _source_of(stage: str) -> str:
    parts = stage.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "ingest" else "<name>"


def _draw(total: int, n: int, seed: int) -> list[int]:
    return sorted(random.Random(seed).sample(range(total), min(n, total)))


def _read_rows(
    files: list[Path], counts: list[int], picked: list[int], decode: Any
) -> Iterator[tuple[Path, int, Any]]:
    """(file, row in file, decoded row) of the global row numbers ``picked`` (sorted), reading
    only the row groups that hold them."""
    start = 0
    wanted = iter(picked)
    target = next(wanted, None)
    for path, count in zip(files, counts, strict=True):
        if target is None:
            return
        if target >= start + count:
            start += count
            continue
        pf = pq.ParquetFile(str(path))
        group_start = start
        for g in range(pf.num_row_groups):
            rows = pf.metadata.row_group(g).num_rows
            if target is None or target >= group_start + rows:
                group_start += rows
                continue
            decoded = decode(pf, g)
            while target is not None and target < group_start + rows:
                yield path, target - start, decoded[target - group_start]
                target = next(wanted, None)
            group_start += rows
        start += count


def _document_rows(pf: pq.ParquetFile, group: int) -> list[Document]:
    table = pf.read_row_group(group)
    metas = meta_decoder(pf.schema_arrow.field("meta").type, "a shard")(table.column("meta"))
    columns = [table.column(c).to_pylist() for c in ("id", "text", "source")]
    return [Document(i, t, s, m) for i, t, s, m in zip(*columns, metas, strict=True)]


def _removed_rows(pf: pq.ParquetFile, group: int) -> list[tuple[Document, str, str, Any]]:
    table = pf.read_row_group(group)
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    return [
        (
            Document(
                cols["id"][i], cols["text"][i], cols["source"][i], json.loads(cols["meta"][i])
            ),
            cols["filter"][i],
            cols["reason"][i],
            cols["score"][i],
        )
        for i in range(table.num_rows)
    ]


def render(samples: list[Sampled], chars: int | None) -> Group:
    """One panel per document: id, why it was removed (or kept), a meta summary, the text
    (its first ``chars`` characters; None: all of it)."""
    panels = []
    for k, s in enumerate(samples, 1):
        why = "kept" if s.reason is None else f"removed by {s.filter}: {s.reason}"
        if s.score is not None:
            why += f" (score {s.score:.6g})"
        meta = Text(_meta_summary(s.doc.meta), style="dim")
        text = (
            s.doc.text
            if chars is None or len(s.doc.text) <= chars
            else (s.doc.text[:chars] + f" … [{len(s.doc.text) - chars:,} more characters]")
        )
        body = Group(meta, Text(""), Text(text))
        where = escape(f"({s.stage}, shard {s.shard}, row {s.row})")
        title = f"{k}. {escape(s.doc.id)}  [dim]{where}[/]"
        panels.append(Panel(body, title=title, title_align="left", subtitle=escape(why)))
    return Group(*panels)


def _meta_summary(meta: dict[str, Any]) -> str:
    items = []
    for key, value in list(meta.items())[:META_KEYS_SHOWN]:
        shown = json.dumps(value, ensure_ascii=False, default=str)
        if len(shown) > META_VALUE_CHARS:
            shown = shown[: META_VALUE_CHARS - 1] + "…"
        items.append(f"{key}={shown}")
    more = len(meta) - META_KEYS_SHOWN
    return "  ".join(items) + (f"  (+{more} more)" if more > 0 else "")
