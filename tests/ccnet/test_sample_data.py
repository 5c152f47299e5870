"""The CCNet sub-stages on the project's own sample in data/ (see data/README.md)."""

from __future__ import annotations

import json

from llamapipe.formats.documents import read_documents
from llamapipe.sources.commoncrawl import (
    CLASSIFIER_MODEL_STAGE,
    FILTERED_STAGE,
    FINAL_STAGE,
    HASHES_STAGE,
    SCORED_STAGE,
)


def _docs(run_dir, stage) -> list:
    shards = sorted((run_dir / stage / "shards").glob("*.parquet"))
    return [doc for shard in shards for doc in read_documents(shard)]


def test_sample_pages_caught_by_the_right_filters(sample_run) -> None:
    run_dir = sample_run.run_dir
    filtered = _docs(run_dir, FILTERED_STAGE)
    final = _docs(run_dir, FINAL_STAGE)
    assert 100 <= len(final) <= len(filtered)
    hosts = [d.meta["url"].split("/")[2] for d in filtered]
    # other-language pages (.de/.fr/.es/.ru sites) are dropped by language id
    assert not [h for h in hosts if h.endswith((".de", ".fr", ".es", ".ru"))]
    # keyword spam (.biz) and SEO "Top 10 Best" pages land in the perplexity tail
    assert not [h for h in hosts if h.endswith(".biz")]
    assert not [d for d in filtered if "/top-" in d.meta["url"]]
    # mirrors: every line is seen twice, so line dedup empties both the copy and the original
    assert not [h for h in hosts if h.startswith("mirror.")]
    stats = json.loads((run_dir / FILTERED_STAGE / "stats.json").read_text())
    for reason in ("language_not_kept", "perplexity_bucket_tail"):
        assert stats["removed"][reason] > 0, reason
    scored_stats = json.loads((run_dir / SCORED_STAGE / "stats.json").read_text())
    assert scored_stats["removed"]["all_lines_duplicated"] > 0
    hash_stats = json.loads((run_dir / HASHES_STAGE / "stats.json").read_text())
    assert hash_stats["removed"]["too_short"] >= 18


def test_sample_boilerplate_lines_removed(sample_run) -> None:
    lines = {line for d in _docs(sample_run.run_dir, FINAL_STAGE) for line in d.text.split("\n")}
    for boilerplate in ("Accept all cookies", "All rights reserved.", "Home"):
        assert not any(line.startswith(boilerplate) for line in lines), boilerplate


def test_sample_reference_pages_train_the_classifier(sample_run) -> None:
    training = json.loads(
        (sample_run.run_dir / CLASSIFIER_MODEL_STAGE / "training.json").read_text()
    )
    # 36 crawl pages are cited by the sample enwiki; all of them are found
    assert training["ref_pages_in_crawl"] == 36
    assert training["positives_source"] == "crawl_pages_cited_by_wikipedia"
