"""The filter runner on real C4 documents: first rejection decides, books kept per filter."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from llamapipe.engine import Counters, ShardContext, ShardSpec
from llamapipe.filters import FilterRunner, Rejection, ThresholdFilter, iter_removed
from llamapipe.formats.documents import Document


def _c4_documents(realdata: Path, n: int = 300) -> list[Document]:
    path = sorted((realdata / "c4").rglob("*.json.gz"))[0]
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= n:
                break
            obj = json.loads(line)
            docs.append(Document(f"c4/{i}", obj["text"], "c4", {"url": obj.get("url")}))
    return docs


class ShortDoc:
    name = "short"

    def __init__(self, min_words: int) -> None:
        self.min_words = min_words

    def check(self, doc: Document) -> str | None:
        return "too_few_words" if len(doc.text.split()) < self.min_words else None


class WordCount:
    """Keeps its score as an attribute and never rejects."""

    name = "word_count"

    def check(self, doc: Document) -> None:
        doc.meta["words"] = len(doc.text.split())


def test_first_rejection_decides_and_counts_match(realdata: Path) -> None:
    docs = _c4_documents(realdata)
    counters = Counters()
    runner = FilterRunner(
        [WordCount(), ShortDoc(50), ThresholdFilter("long", "words", 400, keep_above=False)],
        counters,
    )
    kept = list(runner.run(docs))
    words = [len(d.text.split()) for d in docs]
    expect_short = sum(w < 50 for w in words)
    expect_long = sum(w > 400 for w in words)
    assert expect_short and expect_long, "the sample should exercise both filters"
    assert counters.removed_by["too_few_words"] == expect_short
    assert counters.removed_by["words_above_threshold"] == expect_long
    assert len(kept) == len(docs) - expect_short - expect_long
    assert all(50 <= d.meta["words"] <= 400 for d in kept)
    assert set(counters.filter_cpu_s) == {"word_count", "short", "long"}
    assert counters.to_dict()["filter_cpu_s"]["word_count"] > 0


def test_duplicate_filter_names_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        FilterRunner([ShortDoc(1), ShortDoc(2)], Counters())


def test_removed_writer_holds_every_removal_with_its_score(realdata: Path, tmp_path: Path) -> None:
    docs = _c4_documents(realdata)
    counters = Counters()
    ctx = ShardContext(
        shard=ShardSpec(3),
        stage_name="ingest/c4",
        stage_dir=tmp_path / "stage",
        run_dir=tmp_path,
        tmp_dir=tmp_path / "stage",
        config={"write_removed": True},
        seed=0,
        strict=False,
        counters=counters,
    )
    with ctx.filter_runner([WordCount(), ThresholdFilter("long", "words", 400, False)]) as runner:
        kept = sum(runner.keep(d) for d in docs)
        runner.reject(docs[0], "document_dedup", Rejection("duplicate"))
    removed = list(iter_removed(tmp_path / "stage"))
    assert len(removed) == counters.removed_by["words_above_threshold"] + 1 == len(docs) - kept + 1
    assert (tmp_path / "stage" / "removed" / "00003.parquet").exists()
    for doc, filter_name, reason, score in removed[:-1]:
        assert filter_name == "long" and reason == "words_above_threshold"
        assert score == doc.meta["words"] > 400
    assert removed[-1][1:] == ("document_dedup", "duplicate", None)


def test_no_removed_file_unless_asked(tmp_path: Path) -> None:
    ctx = ShardContext(ShardSpec(0), "s", tmp_path, tmp_path, tmp_path, {}, 0, False, Counters())
    with ctx.filter_runner([ShortDoc(5)]) as runner:
        assert not runner.keep(Document("a", "two words", "x"))
    assert not (tmp_path / "removed").exists()
