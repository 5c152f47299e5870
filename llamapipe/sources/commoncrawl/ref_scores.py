"""P(reference) of every scored page, stored beside the pages instead of a copy of them.

The classified stage writes one attribute file per shard, `attributes/<shard>.parquet`, one row
per document of the scored stage's shard in the same order: `id` and `ref_score` (null for a
page of a language without a model, which no decision can keep). The filtered stage joins it
back by position (checking the id) and adds `ref_score` to the page's meta.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from llamapipe.errors import InputError
from llamapipe.formats.documents import Document

ATTRIBUTE = "ref_score"
SCHEMA = pa.schema([("id", pa.string()), (ATTRIBUTE, pa.float64())])


def ref_scores_path(stage_dir: Path, index: int) -> Path:
    return stage_dir / "attributes" / f"{index:05d}.parquet"


def write_ref_scores(path: Path, ids: list[str], scores: list[float | None]) -> None:
    table = pa.table({"id": ids, ATTRIBUTE: scores}, schema=SCHEMA)
    pq.write_table(table, str(path), compression="zstd")


class RefScores:
    """One shard's attribute file, read whole (two small columns)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        table = pq.read_table(str(path))
        self.ids: list[str] = table.column("id").to_pylist()
        self.scores: list[float | None] = table.column(ATTRIBUTE).to_pylist()

    def attach(self, doc: Document, position: int) -> None:
        """Add the page's score to its meta (nothing for an unscored page)."""
        if position >= len(self.ids) or self.ids[position] != doc.id:
            raise InputError(
                f"{self.path}: row {position} is not document {doc.id}; "
                "rebuild the classified stage"
            )
        score = self.scores[position]
        if score is not None:
            doc.meta[ATTRIBUTE] = score

    def check_count(self, documents: int, shard: Path) -> None:
        if documents != len(self.ids):
            raise InputError(
                f"{self.path}: {len(self.ids)} rows for the {documents} documents of {shard}; "
                "rebuild the classified stage"
            )


def read_ref_scores(stage_dir: Path, index: int) -> RefScores:
    path = ref_scores_path(stage_dir, index)
    if not path.is_file():
        raise InputError(f"{path}: no reference scores for shard {index:05d}")
    return RefScores(path)
