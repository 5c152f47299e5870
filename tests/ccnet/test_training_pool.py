"""The classifier's training pool read by columns equals the pool read as whole documents."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llamapipe.formats.documents import read_documents
from llamapipe.sources.commoncrawl import CLASSIFIER_MODEL_STAGE, SCORED_STAGE
from llamapipe.sources.commoncrawl.training_pool import PoolPage, page_texts, pool_pages

pytestmark = pytest.mark.slow


def _training_config(ccnet_run):
    spec = next(s for s in ccnet_run.stages if s.name == CLASSIFIER_MODEL_STAGE)
    return spec.config


def _pool_by_documents(scored: Path, cfg) -> list[tuple[str, str]]:
    """The definition: every scored document, meta decoded, filtered by the training keys."""
    out = []
    for shard in sorted((scored / "shards").glob("*.parquet")):
        for doc in read_documents(shard):
            meta = doc.meta
            if (
                meta["language_score"] >= cfg.train_lid_threshold
                and meta["language"] in set(cfg.languages)
                and meta.get("bucket") in set(cfg.train_buckets)
            ):
                out.append((meta["url"], doc.text))
    return out


def test_pool_pages_and_texts_equal_the_documents(ccnet_run) -> None:
    cfg = _training_config(ccnet_run)
    scored = ccnet_run.run_dir / SCORED_STAGE
    expected = _pool_by_documents(scored, cfg)
    pages = list(pool_pages(scored, cfg))
    assert len(expected) >= 20 and len(pages) == len(expected)
    assert [p.url for p in pages] == [url for url, _ in expected]
    assert page_texts(pages) == [text for _, text in expected]
    # any subset, in any order, across shards and row groups
    picked = pages[::-3]
    assert page_texts(picked) == [text for _, text in expected[::-3]]


def test_old_layout_json_meta_gives_the_same_pool(ccnet_run, tmp_path: Path) -> None:
    """Shards written before `meta` was a struct (a JSON string) are read whole, same pool."""
    cfg = _training_config(ccnet_run)
    scored = ccnet_run.run_dir / SCORED_STAGE
    old = tmp_path / "scored"
    (old / "shards").mkdir(parents=True)
    for shard in sorted((scored / "shards").glob("*.parquet")):
        table = pq.read_table(shard)
        metas = [json.dumps(m) for m in table.column("meta").to_pylist()]
        table = table.set_column(
            table.schema.get_field_index("meta"), "meta", pa.array(metas, pa.string())
        )
        pq.write_table(table, old / "shards" / shard.name)
    new_pages = list(pool_pages(scored, cfg))
    old_pages = list(pool_pages(old, cfg))
    assert [(p.row, p.url) for p in old_pages] == [(p.row, p.url) for p in new_pages]
    moved = [dataclasses.replace(p, shard=old / "shards" / p.shard.name) for p in new_pages]
    assert page_texts(old_pages) == page_texts(moved) == page_texts(new_pages)
    assert all(isinstance(p, PoolPage) for p in old_pages)
