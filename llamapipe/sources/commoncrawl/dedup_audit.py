"""The dedup result of every page, written by the filtered stage before language id and the
perplexity buckets drop any page: `ingest/commoncrawl/filtered/dedup/<shard>.parquet`.

One row per page that passed the length filter, in reading order, with CCNet's dedup fields:
`id` (the document id the page gets downstream), `url`, `digest`, `original_nlines` (lines of
`raw_content`), `original_length` (the record's Content-Length), `nlines` and `line_ids` (the
kept lines, as indexes into the lines of `raw_content`) and `length` (characters kept). A page
whose lines were all duplicates has `nlines` 0 and is the `all_lines_duplicated` count. This is
what lets a user audit dedup on its own (tests/ccnet/test_ccnet_parity.py compares it to cc_net).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("digest", pa.string()),
        ("original_nlines", pa.int32()),
        ("original_length", pa.int64()),
        ("nlines", pa.int32()),
        ("length", pa.int64()),
        ("line_ids", pa.list_(pa.int32())),
    ]
)
_ROWS_PER_GROUP = 4096


def audit_path(stage_dir: Path, shard_name: str) -> Path:
    return stage_dir / "dedup" / f"{shard_name}.parquet"


class DedupAuditWriter:
    """Buffers rows and writes them as Parquet row groups (zstd)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression="zstd")
        self._rows: dict[str, list] = {name: [] for name in SCHEMA.names}

    def add(
        self,
        doc_id: str,
        url: str,
        digest: str,
        original_nlines: int,
        original_length: int,
        line_ids: list[int],
        length: int,
    ) -> None:
        rows = self._rows
        rows["id"].append(doc_id)
        rows["url"].append(url)
        rows["digest"].append(digest)
        rows["original_nlines"].append(original_nlines)
        rows["original_length"].append(original_length)
        rows["nlines"].append(len(line_ids))
        rows["length"].append(length)
        rows["line_ids"].append(line_ids)
        if len(rows["id"]) >= _ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows["id"]:
            self._writer.write_table(pa.table(self._rows, schema=SCHEMA))
            self._rows = {name: [] for name in SCHEMA.names}

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def __enter__(self) -> DedupAuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_audit(path: Path) -> list[dict]:
    """The rows of one audit file, as dicts."""
    return pq.read_table(path).to_pylist()
