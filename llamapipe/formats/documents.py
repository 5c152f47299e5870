"""Document shards: the one schema every data stage reads and writes.

A shard is a Parquet file (zstd) with four columns, ``id``, ``text``, ``source`` and ``meta``.
``meta`` is a JSON string rather than a struct because each source carries different fields
(url and perplexity for CommonCrawl, license for GitHub, score for StackExchange) and the mix
stage writes documents of all sources into one file; a JSON column keeps one schema everywhere
and still loads with ``datasets.load_dataset("parquet", ...)``, DuckDB and pandas.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ]
)

#: A row group is flushed at this many rows or this many bytes of text, whichever comes first:
#: rows bound the group for web pages, bytes for whole books (a few MB each).
ROW_GROUP_ROWS = 2048
ROW_GROUP_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Document:
    """One document of any source. ``id`` is unique across all sources (prefixed by source)."""

    id: str
    text: str
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return len(self.text.encode("utf-8"))


def _json_default(value: Any) -> Any:
    """Dates (e.g. C4 timestamps parsed by `datasets`) as ISO strings; anything else is a bug."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"meta value of type {type(value).__name__} is not JSON serialisable")


def meta_to_json(meta: dict[str, Any]) -> str:
    """The stored form of `meta`: sorted keys, UTF-8 kept, dates as ISO strings."""
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, default=_json_default)


class DocumentWriter:
    """Streams documents into one Parquet shard, flushing a row group every ROW_GROUP_ROWS."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(str(self.path), SCHEMA, compression="zstd")
        self._rows: dict[str, list[str]] = {name: [] for name in SCHEMA.names}
        self.documents = 0
        self.bytes = 0
        self._buffered_bytes = 0

    def write(self, doc: Document) -> None:
        # Serialise first: a failure must not leave the columns of the buffer misaligned.
        meta = meta_to_json(doc.meta)
        self._rows["id"].append(doc.id)
        self._rows["text"].append(doc.text)
        self._rows["source"].append(doc.source)
        self._rows["meta"].append(meta)
        nbytes = doc.nbytes
        self.documents += 1
        self.bytes += nbytes
        self._buffered_bytes += nbytes
        if len(self._rows["id"]) >= ROW_GROUP_ROWS or self._buffered_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def write_all(self, docs: Iterable[Document]) -> None:
        for doc in docs:
            self.write(doc)

    def _flush(self) -> None:
        if not self._rows["id"]:
            return
        table = pa.table(self._rows, schema=SCHEMA)
        self._writer.write_table(table)
        self._rows = {name: [] for name in SCHEMA.names}
        self._buffered_bytes = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def __enter__(self) -> DocumentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_documents(path: str | Path, columns: list[str] | None = None) -> Iterator[Document]:
    """Yield the documents of one shard, a row group at a time (memory bounded by a group)."""
    pf = pq.ParquetFile(str(path))
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i)
        ids = table.column("id").to_pylist()
        texts = table.column("text").to_pylist()
        sources = table.column("source").to_pylist()
        metas = table.column("meta").to_pylist()
        for id_, text, source, meta in zip(ids, texts, sources, metas, strict=True):
            yield Document(id=id_, text=text, source=source, meta=json.loads(meta))


def iter_shard_documents(paths: Iterable[str | Path]) -> Iterator[Document]:
    """Yield the documents of several shards in order."""
    for path in paths:
        yield from read_documents(path)


def count_documents(path: str | Path) -> int:
    return pq.ParquetFile(str(path)).metadata.num_rows
