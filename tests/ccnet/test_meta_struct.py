"""The CommonCrawl run's shards queried by DuckDB and `datasets` on the typed ``meta`` struct
(language and perplexity predicates, no JSON parsing), agreeing with llamapipe's own reader."""

from __future__ import annotations

import statistics

import datasets
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llamapipe.formats.documents import iter_shard_documents
from llamapipe.sources.commoncrawl import FINAL_STAGE

pytestmark = pytest.mark.slow


def test_duckdb_filters_the_built_stage_on_language_and_perplexity(ccnet_run) -> None:
    shards = sorted((ccnet_run.run_dir / FINAL_STAGE / "shards").glob("*.parquet"))
    assert len(shards) >= 2
    docs = list(iter_shard_documents(shards))
    meta_type = pq.read_schema(shards[0]).field("meta").type
    assert meta_type.field("perplexity").type == pa.float64()
    assert meta_type.field("line_ids").type == pa.list_(pa.int64())
    assert {pq.read_schema(p).field("meta").type for p in shards} == {meta_type}

    cut = statistics.median(d.meta["perplexity"] for d in docs)
    expected = sorted(
        d.id for d in docs if d.meta["language"] == "en" and d.meta["perplexity"] < cut
    )
    assert 0 < len(expected) < len(docs)
    got = duckdb.execute(
        "SELECT id FROM read_parquet(?) WHERE meta.language = 'en' AND meta.perplexity < ? "
        "ORDER BY id",
        [[str(p) for p in shards], cut],
    ).fetchall()
    assert [row[0] for row in got] == expected

    wiki = sorted((ccnet_run.run_dir / "ingest/wikipedia/shards").glob("*.parquet"))
    (count,) = duckdb.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE meta.language = 'en'", [[str(p) for p in wiki]]
    ).fetchone()
    assert count == sum(1 for _ in iter_shard_documents(wiki)) > 0


def test_datasets_loads_all_shards_and_filters_on_perplexity(ccnet_run) -> None:
    shards = sorted(str(p) for p in (ccnet_run.run_dir / FINAL_STAGE / "shards").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=shards, split="train")
    assert ds.features["meta"]["perplexity"] == datasets.Value("float64")
    docs = list(iter_shard_documents(shards))
    assert len(ds) == len(docs)
    cut = statistics.median(d.meta["perplexity"] for d in docs)
    low = ds.filter(lambda row: row["meta"]["perplexity"] < cut)
    assert sorted(low["id"]) == sorted(d.id for d in docs if d.meta["perplexity"] < cut)
