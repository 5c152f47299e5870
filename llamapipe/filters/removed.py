"""The documents a stage removed, with the filter, reason and score that removed them.

Off by default (a crawl removes most of what it reads); on with `write_removed = true` in a
source's section (`[sources.<name>]`) or for every source in `[sources]`, the source's own value
winning (llamapipe/config/removed.py). One Parquet file per shard at
`<stage>/removed/<shard>.parquet`: the document's own columns plus `filter`, `reason` and
`score`, so a reader can sample the pages a threshold drops
(`llamapipe data sample <stage> --removed <reason>`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llamapipe.formats.documents import Document, meta_to_json

REMOVED_DIR = "removed"
#: Rows buffered before a row group is written: removed pages are many and small.
ROW_GROUP_ROWS = 2048

REMOVED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
        pa.field("filter", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=True),
    ]
)


class RemovedWriter:
    """Streams removed documents into one Parquet file (created even when nothing is removed,
    so that the removed/ folder has one file per finished shard)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(str(self.path), REMOVED_SCHEMA, compression="zstd")
        self._rows: dict[str, list[Any]] = {name: [] for name in REMOVED_SCHEMA.names}
        self.documents = 0

    def write(self, doc: Document, filter_name: str, reason: str, score: float | None) -> None:
        meta = meta_to_json(doc.meta)
        for name, value in (
            ("id", doc.id),
            ("text", doc.text),
            ("source", doc.source),
            ("meta", meta),
            ("filter", filter_name),
            ("reason", reason),
            ("score", score),
        ):
            self._rows[name].append(value)
        self.documents += 1
        if len(self._rows["id"]) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows["id"]:
            self._writer.write_table(pa.table(self._rows, schema=REMOVED_SCHEMA))
            self._rows = {name: [] for name in REMOVED_SCHEMA.names}

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def __enter__(self) -> RemovedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_removed(stage_dir: str | Path) -> Iterator[tuple[Document, str, str, float | None]]:
    """(document, filter, reason, score) of every removed document of a stage, shard order."""
    for path in sorted(Path(stage_dir, REMOVED_DIR).glob("*.parquet")):
        table = pq.read_table(path)
        columns = {name: table.column(name).to_pylist() for name in REMOVED_SCHEMA.names}
        for i, id_ in enumerate(columns["id"]):
            doc = Document(
                id=id_,
                text=columns["text"][i],
                source=columns["source"][i],
                meta=json.loads(columns["meta"][i]),
            )
            yield doc, columns["filter"][i], columns["reason"][i], columns["score"][i]
