"""The reference classifier's training pool, read without the texts it does not keep.

The pool is every scored page of a trained-on language whose LID score and bucket the training
keys allow: all of a crawl's good pages, of which the classifier keeps a few hundred (the cited
ones, and a uniform sample of the others as negatives). Decoding every pool page into a
`Document` to pick them cost the one-shard training stage more than the training itself at 64x
the real samples, and that stage runs alone whatever the workers. So a first pass reads four
fields of `meta` (language, language_score, bucket, url) and yields where each pool page is;
`page_texts` then reads the text of the chosen pages only, by row group.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from llamapipe.formats.documents import read_documents
from llamapipe.sources.commoncrawl.stage_configs import ClassifierTrainingConfig

#: The `meta` fields the pool's keys read.
POOL_FIELDS = ("url", "language", "language_score", "bucket")


@dataclass(frozen=True)
class PoolPage:
    """Where a pool page is: its shard and its row there (and its URL, for the cited check)."""

    shard: Path
    row: int
    url: str


def _has_pool_fields(meta_type: pa.DataType) -> bool:
    return pa.types.is_struct(meta_type) and all(
        meta_type.get_field_index(name) >= 0 for name in POOL_FIELDS
    )


def _in_pool(
    language: str, score: float, bucket: str | None, cfg: ClassifierTrainingConfig
) -> bool:
    return (
        score >= cfg.train_lid_threshold
        and language in cfg.languages
        and bucket in cfg.train_buckets
    )


def pool_pages(scored_dir: Path, cfg: ClassifierTrainingConfig) -> Iterator[PoolPage]:
    """The pool, in shard and row order: pages of a language it trains on, LID score at least
    `train_lid_threshold`, bucket in `train_buckets`. Its own keys, not the decisions: with the
    defaults, exactly the pages the default decisions keep before the classifier (filters.py),
    whatever the decisions are set to. Shards of the old layout (`meta` as JSON) are decoded
    whole."""
    for shard in sorted((scored_dir / "shards").glob("*.parquet")):
        pf = pq.ParquetFile(shard)
        if not _has_pool_fields(pf.schema_arrow.field("meta").type):
            for row, doc in enumerate(read_documents(shard)):
                meta = doc.meta
                if _in_pool(meta["language"], meta["language_score"], meta.get("bucket"), cfg):
                    yield PoolPage(shard, row, meta.get("url", ""))
            continue
        row = 0
        for group in range(pf.num_row_groups):
            table = pf.read_row_group(group, columns=[f"meta.{name}" for name in POOL_FIELDS])
            meta = table.column("meta").combine_chunks()
            fields = [meta.field(name).to_pylist() for name in POOL_FIELDS]
            for url, language, score, bucket in zip(*fields, strict=True):
                if _in_pool(language, score, bucket, cfg):
                    yield PoolPage(shard, row, url or "")
                row += 1


def page_texts(pages: Sequence[PoolPage]) -> list[str]:
    """The texts of `pages`, in their order, reading only the row groups that hold them."""
    texts = [""] * len(pages)
    by_shard: dict[Path, list[int]] = {}
    for i, page in enumerate(pages):
        by_shard.setdefault(page.shard, []).append(i)
    for shard, wanted in by_shard.items():
        pf = pq.ParquetFile(shard)
        starts = [0]
        for group in range(pf.num_row_groups):
            starts.append(starts[-1] + pf.metadata.row_group(group).num_rows)
        by_group: dict[int, list[int]] = {}
        for i in wanted:
            by_group.setdefault(bisect.bisect_right(starts, pages[i].row) - 1, []).append(i)
        for group, indexes in by_group.items():
            column = pf.read_row_group(group, columns=["text"]).column("text")
            for i in indexes:
                texts[i] = column[pages[i].row - starts[group]].as_py()
    return texts
