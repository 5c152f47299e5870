"""``meta`` as a typed Parquet struct: written per stage schema, queried without casts, and old
JSON-string shards still read to the same documents."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import datasets
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llamapipe.config.sources.github import GitHubSourceConfig
from llamapipe.engine import ShardContext, ShardSpec, StageSpec, run_stage
from llamapipe.errors import StageError
from llamapipe.formats.documents import (
    LEGACY_SCHEMA,
    Document,
    DocumentWriter,
    iter_shard_documents,
    read_documents,
)
from llamapipe.formats.meta_schemas import (
    SOURCE_SCHEMAS,
    MetaSchemaError,
    stage_meta_schema,
    union_meta_schema,
)
from llamapipe.sources.github import build_source_stages

GITHUB_SAMPLE = "github/github_files_sample.jsonl.gz"


@pytest.fixture(scope="module")
def github_run(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real GitHub stages on the real sample (rows carry commit, blob_sha and size)."""
    run_dir = tmp_path_factory.mktemp("github") / "run"
    for spec in build_source_stages(GitHubSourceConfig(inputs=[str(realdata / GITHUB_SAMPLE)])):
        run_stage(spec, run_dir, executor="inprocess")
    return run_dir


def _shards(run_dir: Path, stage: str) -> list[Path]:
    shards = sorted((run_dir / stage / "shards").glob("*.parquet"))
    assert shards, stage
    return shards


def _write_legacy(path: Path, docs: list[Document]) -> None:
    """A shard in the layout before the struct: meta as a JSON string (sorted keys)."""
    rows = {
        "id": [d.id for d in docs],
        "text": [d.text for d in docs],
        "source": [d.source for d in docs],
        "meta": [json.dumps(d.meta, ensure_ascii=False, sort_keys=True) for d in docs],
    }
    pq.write_table(pa.table(rows, schema=LEGACY_SCHEMA), path, compression="zstd")


def test_github_meta_is_typed_and_duckdb_filters_without_casts(github_run: Path) -> None:
    shards = _shards(github_run, "ingest/github")
    docs = [d for d in iter_shard_documents(shards)]
    assert len(docs) > 50
    meta_type = pq.read_schema(shards[0]).field("meta").type
    assert meta_type.field("size").type == pa.int64()
    assert meta_type.field("header_stripped").type == pa.bool_()
    assert meta_type.field("mean_line_length").type == pa.float64()
    # the input rows' provenance (formats/github.py `extra`) is kept, typed
    assert all(isinstance(d.meta["size"], int) and len(d.meta["commit"]) == 40 for d in docs)

    sizes = sorted(d.meta["size"] for d in docs)
    cut = sizes[len(sizes) // 2]
    expected = sorted(d.id for d in docs if d.meta["language"] == "Python" and d.meta["size"] < cut)
    assert expected, "the sample has small Python files"
    files = [str(p) for p in shards]
    got = duckdb.execute(
        "SELECT id FROM read_parquet(?) WHERE meta.language = 'Python' AND meta.size < ? "
        "ORDER BY id",
        [files, cut],
    ).fetchall()
    assert [row[0] for row in got] == expected

    frame = pd.read_parquet(shards[0], dtype_backend="pyarrow")
    python = frame[frame["meta"].struct.field("language") == "Python"]
    assert sorted(python["id"]) == sorted(
        d.id for d in read_documents(shards[0]) if d.meta["language"] == "Python"
    )


def test_every_shard_of_a_stage_has_one_schema_and_loads_with_datasets(github_run: Path) -> None:
    shards = _shards(github_run, "ingest/github/candidates")
    schemas = {pq.read_schema(p).field("meta").type for p in shards}
    assert len(schemas) == 1
    files = [str(p) for p in _shards(github_run, "ingest/github")]
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert ds.features["meta"]["size"] == datasets.Value("int64")
    mit = ds.filter(lambda row: row["meta"]["license"] == "MIT")
    assert 0 < len(mit) < len(ds)
    assert sorted(mit["id"]) == sorted(
        d.id for d in iter_shard_documents(_shards(github_run, "ingest/github"))
        if d.meta["license"] == "MIT"
    )  # fmt: skip


def test_old_json_meta_shards_read_to_the_same_documents(github_run: Path, tmp_path: Path) -> None:
    shard = _shards(github_run, "ingest/github")[0]
    docs = list(read_documents(shard))
    old = tmp_path / "old.parquet"
    _write_legacy(old, docs)
    assert pq.read_schema(old).field("meta").type == pa.string()
    assert list(read_documents(old)) == docs
    # a stage whose shards straddle the change (resumed after an upgrade) reads as one
    assert list(iter_shard_documents([old, shard])) == docs + docs


def test_optional_keys_stay_absent_and_set_nones_stay_none(tmp_path: Path) -> None:
    """A key a stage sets on some documents only reads back absent; a key it sets to None
    reads back None: Document.meta equals what was written, as with the JSON column."""
    written = [
        Document("se/1", "Q: a", "stackexchange", {
            "site": "coffee.stackexchange.com", "question_id": 1, "url": "https://x/1",
            "score": 3, "answer_scores": [5, -1], "tags": ["espresso"], "created": "2015-01-27",
            "license": "CC BY-SA 3.0",
        }),
        Document("se/2", "Q: b", "stackexchange", {
            "site": "coffee.stackexchange.com", "question_id": 2, "url": None, "score": 0,
            "answer_scores": [], "tags": [], "created": "",
        }),
    ]  # fmt: skip
    path = tmp_path / "se.parquet"
    with DocumentWriter(path, stage_meta_schema("ingest/stackexchange")) as writer:
        writer.write_all(written)
    assert list(read_documents(path)) == written
    got = duckdb.execute(
        "SELECT id, meta.license, len(meta.answer_scores) FROM read_parquet(?) ORDER BY id",
        [str(path)],
    ).fetchall()
    assert got == [("se/1", "CC BY-SA 3.0", 2), ("se/2", None, 0)]


def test_dates_are_stored_as_iso_strings_as_the_json_column_did(tmp_path: Path) -> None:
    when = datetime.datetime(2019, 4, 25, 12, 57, 54)
    path = tmp_path / "c4.parquet"
    with DocumentWriter(path, stage_meta_schema("ingest/c4")) as writer:
        writer.write(Document("c4/0", "text", "c4", {"url": "https://a.b/", "timestamp": when}))
    (doc,) = read_documents(path)
    assert doc.meta == {"url": "https://a.b/", "timestamp": "2019-04-25T12:57:54"}


def test_wrong_type_is_refused_before_anything_is_buffered(tmp_path: Path) -> None:
    path = tmp_path / "gh.parquet"
    with DocumentWriter(path, stage_meta_schema("ingest/github")) as writer:
        with pytest.raises(MetaSchemaError, match=r"ingest/github: meta key 'size' .*str"):
            writer.write(Document("g/0", "x", "github", {"size": "72"}))
        with pytest.raises(MetaSchemaError, match="'lines' .*bool"):
            writer.write(Document("g/1", "x", "github", {"lines": True}))
        writer.write(Document("g/2", "x", "github", {"repo": "a/b", "size": 72}))
    assert [d.id for d in read_documents(path)] == ["g/2"]


def _write_undeclared_key(ctx: ShardContext) -> None:
    with ctx.document_writer() as writer:
        writer.write(Document("c4/0", "text", "c4", {"url": "https://a.b/", "perplexity": 1.5}))


def test_a_stage_writing_an_undeclared_key_fails_naming_stage_and_key(tmp_path: Path) -> None:
    spec = StageSpec(
        name="ingest/c4",
        config={"test": "undeclared"},
        plan=lambda: [ShardSpec(index=0)],
        process=_write_undeclared_key,
    )
    with pytest.raises(StageError, match=r"stage ingest/c4: meta key 'perplexity'"):
        run_stage(spec, tmp_path / "run", executor="inprocess", retries=0)
    assert not list((tmp_path / "run" / "ingest/c4").glob("shards/*.parquet"))


def test_stage_lookup_and_one_struct_for_all_sources(tmp_path: Path) -> None:
    assert stage_meta_schema("ingest/commoncrawl/classified").names == (
        SOURCE_SCHEMAS["commoncrawl"].names
    )
    assert stage_meta_schema("tokens/sources/books").names == SOURCE_SCHEMAS["books"].names
    with pytest.raises(MetaSchemaError, match="stage demo/stage writes documents"):
        stage_meta_schema("demo/stage")
    # a file of several sources: the union struct (key types agree across sources)
    union = union_meta_schema()
    path = tmp_path / "mixed.parquet"
    docs = [
        Document("wikipedia/en/1", "a", "wikipedia", {"language": "en", "page_id": 1}),
        Document("commoncrawl/x", "b", "commoncrawl", {"language": "en", "perplexity": 80.5}),
        Document("github/r/p", "c", "github", {"language": "Python", "size": 7}),
    ]
    with DocumentWriter(path, union) as writer:
        writer.write_all(docs)
    assert list(read_documents(path)) == docs
    got = duckdb.execute(
        "SELECT id FROM read_parquet(?) WHERE meta.language = 'en' AND meta.perplexity < 100",
        [str(path)],
    ).fetchall()
    assert got == [("commoncrawl/x",)]
