"""Document shards: the one layout every data stage reads and writes.

A shard is a Parquet file (zstd) with four columns, ``id``, ``text``, ``source`` and ``meta``.
``meta`` is a struct typed per stage (llamapipe/formats/meta_schemas.py: why, and each source's
fields), so DuckDB, pandas and ``datasets`` filter on ``meta.language`` or ``meta.perplexity``
directly. Shards written before the struct held ``meta`` as a JSON string; ``read_documents``
reads both and returns the same ``Document.meta`` dict, so old run dirs keep working.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llamapipe.formats.meta_schemas import MetaSchema, optional_keys

#: A row group is flushed at this many rows or this many bytes of text, whichever comes first:
#: rows bound the group for web pages, bytes for whole books (a few MB each).
ROW_GROUP_ROWS = 2048
ROW_GROUP_BYTES = 64 * 1024 * 1024

_COLUMNS = ("id", "text", "source")


def document_schema(meta: MetaSchema) -> pa.Schema:
    """The Arrow schema of a shard whose ``meta`` struct is ``meta``."""
    return pa.schema(
        [pa.field(name, pa.string(), nullable=False) for name in _COLUMNS]
        + [pa.field("meta", meta.arrow_type(), nullable=False)]
    )


#: The layout before ``meta`` was a struct (a JSON string); still read, no longer written.
LEGACY_SCHEMA = pa.schema(
    [pa.field(name, pa.string(), nullable=False) for name in (*_COLUMNS, "meta")]
)


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
    """`meta` as JSON (the removed-documents files, filters/removed.py): sorted keys, UTF-8 kept,
    dates as ISO strings."""
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, default=_json_default)


class DocumentWriter:
    """Streams documents into one Parquet shard, flushing a row group every ROW_GROUP_ROWS.

    ``meta`` is the stage's schema (``meta_schemas.stage_meta_schema``): a document whose meta
    does not fit it is a MetaSchemaError and nothing of it is buffered.
    """

    def __init__(self, path: str | Path, meta: MetaSchema) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.meta = meta
        self.schema = document_schema(meta)
        self._writer = pq.ParquetWriter(str(self.path), self.schema, compression="zstd")
        self._new_buffer()
        self.documents = 0
        self.bytes = 0
        self._buffered_bytes = 0

    def _new_buffer(self) -> None:
        self._rows: dict[str, list[str]] = {name: [] for name in _COLUMNS}
        self._meta: list[list[Any]] = [[] for _ in self.meta.fields]

    def write(self, doc: Document) -> None:
        # Check meta first: a failure must not leave the columns of the buffer misaligned.
        values = self.meta.values(doc.meta, doc.id)
        self._rows["id"].append(doc.id)
        self._rows["text"].append(doc.text)
        self._rows["source"].append(doc.source)
        for column, value in zip(self._meta, values, strict=True):
            column.append(value)
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
        struct = self.schema.field("meta").type
        meta = pa.StructArray.from_arrays(
            [
                pa.array(values, type=spec.type)
                for values, spec in zip(self._meta, self.meta.fields, strict=True)
            ],
            fields=list(struct),
        )
        columns = [pa.array(self._rows[name], pa.string()) for name in _COLUMNS]
        self._writer.write_table(pa.Table.from_arrays([*columns, meta], schema=self.schema))
        self._new_buffer()
        self._buffered_bytes = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def __enter__(self) -> DocumentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def meta_decoder(meta_type: pa.DataType, path: str | Path) -> Callable[[pa.ChunkedArray], list]:
    """A function turning a shard's ``meta`` column into ``Document.meta`` dicts.

    A struct (this layout): its rows as dicts, minus the null keys the file marks optional (they
    were absent when written). A string (the old layout): each row parsed as JSON.
    """
    if pa.types.is_string(meta_type) or pa.types.is_large_string(meta_type):
        return lambda column: [json.loads(value) for value in column.to_pylist()]
    if not pa.types.is_struct(meta_type):
        raise ValueError(f"{path}: meta column is {meta_type}, not a struct or a JSON string")
    optional = optional_keys(meta_type)

    def decode(column: pa.ChunkedArray) -> list[dict[str, Any]]:
        rows = column.to_pylist()
        for row in rows:
            for key in optional:
                if row[key] is None:
                    del row[key]
        return rows

    return decode


def read_documents(path: str | Path, columns: list[str] | None = None) -> Iterator[Document]:
    """Yield the documents of one shard, a row group at a time (memory bounded by a group).

    Shards of both layouts (``meta`` a struct, or a JSON string) give the same documents.
    """
    del columns  # every column is read: a Document has them all
    pf = pq.ParquetFile(str(path))
    decode = meta_decoder(pf.schema_arrow.field("meta").type, path)
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i)
        ids = table.column("id").to_pylist()
        texts = table.column("text").to_pylist()
        sources = table.column("source").to_pylist()
        metas = decode(table.column("meta"))
        for id_, text, source, meta in zip(ids, texts, sources, metas, strict=True):
            yield Document(id=id_, text=text, source=source, meta=meta)


def iter_shard_documents(paths: Iterable[str | Path]) -> Iterator[Document]:
    """Yield the documents of several shards in order."""
    for path in paths:
        yield from read_documents(path)


def count_documents(path: str | Path) -> int:
    return pq.ParquetFile(str(path)).metadata.num_rows
