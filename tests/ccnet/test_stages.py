"""The CommonCrawl sub-stages end to end on the real samples (see conftest.ccnet_run)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llamapipe.config.sources.commoncrawl import CommonCrawlSourceConfig
from llamapipe.engine import run_stage, stage_status
from llamapipe.formats.documents import read_documents
from llamapipe.formats.wet import read_wet
from llamapipe.recipe import CCNET_EN_CUTOFFS
from llamapipe.sources.commoncrawl import (
    CLASSIFIER_MODEL_STAGE,
    FILTERED_STAGE,
    FINAL_STAGE,
    HASHES_STAGE,
    SCORED_STAGE,
    build_stages_from_section,
)
from llamapipe.text.ccnet_normalize import normalize_for_dedup

pytestmark = pytest.mark.slow

CCNET_FIELDS = {
    "url", "date_download", "digest", "length", "nlines", "source_domain", "title",
    "cc_segment", "original_nlines", "original_length", "line_ids", "language",
    "language_score", "perplexity", "bucket", "ref_score",
}  # fmt: skip


def _docs(run_dir: Path, stage: str, index: int | None = None) -> list:
    pattern = "*.parquet" if index is None else f"{index:05d}.parquet"
    paths = sorted((run_dir / stage / "shards").glob(pattern))
    return [d for p in paths for d in read_documents(p)]


def _stats(run_dir: Path, stage: str) -> dict:
    return json.loads((run_dir / stage / "stats.json").read_text())


def test_all_sub_stages_complete_and_resume_as_no_ops(ccnet_run) -> None:
    for spec in ccnet_run.stages:
        assert stage_status(spec, ccnet_run.run_dir).state == "complete", spec.name
    again = run_stage(ccnet_run.stages[2], ccnet_run.run_dir, executor="inprocess")
    assert again.skipped and again.shards_run == 0


def test_output_fields_as_ccnet_specifies(ccnet_run, realdata: Path) -> None:
    docs = _docs(ccnet_run.run_dir, FINAL_STAGE)
    assert len(docs) >= 20
    originals = {}
    for path in ccnet_run.inputs[:2]:
        for rec in read_wet(path):
            originals[rec.url] = rec
    for doc in docs:
        meta = doc.meta
        assert CCNET_FIELDS <= set(meta), doc.id
        assert doc.id.startswith("commoncrawl/CC-MAIN-2019-3")
        assert doc.source == "commoncrawl"
        rec = originals[meta["url"]]
        assert meta["title"] == rec.title and meta["digest"] == rec.digest
        assert meta["date_download"] == rec.date_download
        assert meta["cc_segment"] in {p.rsplit("/", 1)[-1] for p in ccnet_run.inputs}
        lines = rec.raw_content.split("\n")
        assert meta["original_nlines"] == len(lines)
        assert meta["original_length"] == rec.length  # cc_net: the record's Content-Length
        assert doc.text.split("\n") == [lines[i] for i in meta["line_ids"]]
        assert meta["nlines"] == len(meta["line_ids"]) and meta["length"] == len(doc.text)
        assert meta["language"] == "en"
        assert meta["language_score"] >= 0.5 and meta["language_score"] == round(
            meta["language_score"], 2
        )
        assert meta["perplexity"] == round(meta["perplexity"], 1) > 0
        assert meta["bucket"] in {"head", "middle"}
        assert meta["ref_score"] >= 0.25


def test_cross_shard_boilerplate_lines_removed(ccnet_run) -> None:
    by_shard = []
    for path in ccnet_run.inputs[:2]:
        counts = Counter(
            normalize_for_dedup(line)
            for rec in read_wet(path)
            if len(rec.raw_content) >= 300
            for line in rec.raw_content.split("\n")
        )
        by_shard.append(counts)
    shared = set(by_shard[0]) & set(by_shard[1])
    assert len(shared) >= 10
    kept = {
        normalize_for_dedup(line)
        for doc in _docs(ccnet_run.run_dir, FILTERED_STAGE)
        if doc.meta["cc_segment"] != ccnet_run.inputs[2].rsplit("/", 1)[-1]
        for line in doc.text.split("\n")
    }
    assert kept and not (kept & shared)


def test_non_english_dropped_and_buckets_filtered(ccnet_run) -> None:
    stats = _stats(ccnet_run.run_dir, FILTERED_STAGE)
    removed = stats["removed"]
    assert removed["language_not_kept"] >= 50
    assert removed["perplexity_bucket_tail"] >= 1
    urls = {d.meta["url"] for d in _docs(ccnet_run.run_dir, FILTERED_STAGE)}
    # real French, Portuguese and Burmese pages of shard 00 (all over 300 characters)
    for url in (
        "http://cfdtsf3c.org/spip.php?article322",
        "http://philo-lettres.fr/grec-ancien/litterature-grecque-chronologie/hesiode/",
        "http://mabaydar.blogspot.com/2014/10/",
    ):
        assert url not in urls
    assert all(d.meta["language"] == "en" for d in _docs(ccnet_run.run_dir, FILTERED_STAGE))


def test_reference_classifier_fell_back_to_wikipedia_and_filters(ccnet_run) -> None:
    training = json.loads(
        (ccnet_run.run_dir / CLASSIFIER_MODEL_STAGE / "training.json").read_text()
    )
    assert training["positives_source"] == "wikipedia_articles_fallback"
    assert training["ref_urls"] > 1000 and training["negatives"] > 0
    scores = [d.meta["ref_score"] for d in _docs(ccnet_run.run_dir, FILTERED_STAGE)]
    assert scores and min(scores) >= 0.25  # some pages kept ...
    removed = _stats(ccnet_run.run_dir, FILTERED_STAGE)["removed"]
    assert removed["reference_score_below_threshold"] > 0  # ... and some dropped


def test_fallback_positives_length_matched_by_default_whole_articles_on_request(
    ccnet_run, tmp_path: Path
) -> None:
    """The default fallback trains on article windows no longer than their crawl pages;
    `whole_articles` restores whole articles (the real enwiki sample's, ~7x longer)."""
    import shutil

    from llamapipe.sources.commoncrawl.models import WIKIPEDIA_STAGE

    run_dir = ccnet_run.run_dir
    matched = json.loads((run_dir / CLASSIFIER_MODEL_STAGE / "training.json").read_text())
    assert matched["fallback_positives"] == "length_matched"
    assert matched["positive_chars_mean"] <= matched["negative_chars_mean"]
    articles = [d.text for d in _docs(run_dir, WIKIPEDIA_STAGE) if d.meta["language"] == "en"]
    article_mean = sum(map(len, articles)) / len(articles)
    assert matched["positive_chars_mean"] < article_mean / 3

    other = tmp_path / "run"
    for stage in (WIKIPEDIA_STAGE, HASHES_STAGE, "ccnet-models", SCORED_STAGE):
        shutil.copytree(run_dir / stage, other / stage)
    classifier = ccnet_run.section.classifier.model_copy(
        update={"fallback_positives": "whole_articles"}
    )
    section = ccnet_run.section.model_copy(update={"classifier": classifier})
    spec = next(s for s in build_stages_from_section(section) if s.name == CLASSIFIER_MODEL_STAGE)
    run_stage(spec, other, executor="inprocess")
    whole = json.loads((other / CLASSIFIER_MODEL_STAGE / "training.json").read_text())
    assert whole["fallback_positives"] == "whole_articles"
    assert whole["positives"] == matched["positives"] == len(articles)
    assert whole["positive_chars_mean"] == pytest.approx(article_mean, abs=0.1)
    assert whole["negatives"] == matched["negatives"]


def test_exact_document_dedup_across_dumps_first_wins(ccnet_run) -> None:
    run_dir = ccnet_run.run_dir
    shard1 = _docs(run_dir, FILTERED_STAGE, 1)
    copy = _docs(run_dir, FILTERED_STAGE, 2)
    # the copy is in its own dedup group, so its pages survive paragraph dedup ...
    assert len(copy) > len(shard1) > 0
    # ... and the final stage drops those identical to pages of the earlier dump
    assert {d.text for d in _docs(run_dir, FINAL_STAGE, 1)} == {d.text for d in shard1}
    final_copy = _docs(run_dir, FINAL_STAGE, 2)
    assert not ({d.text for d in final_copy} & {d.text for d in shard1})
    assert len(final_copy) == len(copy) - len({d.text for d in shard1} & {d.text for d in copy})


def test_bad_inputs_counted_with_reasons(realdata: Path, tmp_path: Path, wet_builders) -> None:
    shard = realdata / "commoncrawl" / "CC-MAIN-2019-30-sample-01.warc.wet.gz"
    recs = wet_builders.real_conversion_records(shard, 3)
    no_uri = [(k, v) for k, v in recs[0][0] if k != "WARC-Target-URI"]
    bad = wet_builders.write_gzip_members(
        tmp_path / "bad.warc.wet.gz",
        [
            wet_builders.serialize(no_uri, recs[0][1]),
            wet_builders.serialize(recs[1][0], b"\xff\xfe caf\xe9 " * 100),
            wet_builders.serialize(*recs[2]),
        ],
    )
    empty = tmp_path / "empty.warc.wet.gz"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.warc.wet.gz"
    data = shard.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    section = CommonCrawlSourceConfig(inputs=[str(bad), str(empty), str(truncated)])
    hashes = build_stages_from_section(section)[0]
    assert hashes.name == HASHES_STAGE
    result = run_stage(hashes, tmp_path / "run", executor="inprocess")
    removed = result.counters.removed_by
    assert removed["missing_target_uri"] == 1
    assert removed["non_utf8_payload"] == 1
    assert removed["empty_file"] == 1
    assert removed["truncated_record"] == 1
    assert result.counters.totals["errors"] == 4
    assert result.counters.totals["docs_in"] > 10  # the good records were still read


def test_classifier_trains_on_cited_crawl_pages_when_enough(ccnet_run, tmp_path: Path) -> None:
    """Wikipedia citing crawl pages (URL spelled differently) makes them the positives."""
    import shutil

    from llamapipe.sources.commoncrawl.models import WIKIPEDIA_STAGE

    run_dir = tmp_path / "run"
    for stage in (WIKIPEDIA_STAGE, HASHES_STAGE, "ccnet-models", SCORED_STAGE):
        shutil.copytree(ccnet_run.run_dir / stage, run_dir / stage)
    pages = _docs(ccnet_run.run_dir, FILTERED_STAGE)[:12]  # in the classifier's training pool
    refs = run_dir / WIKIPEDIA_STAGE / "refs" / "99999.jsonl"
    with open(refs, "w", encoding="utf-8") as fh:
        for doc in pages:
            url = doc.meta["url"]
            scheme, rest = url.split("://", 1)
            host_variant = rest[4:] if rest.startswith("www.") else "www." + rest
            url = ("https" if scheme == "http" else "http") + "://" + host_variant + "#cite"
            fh.write(json.dumps({"lang": "en", "title": "T", "url": url}) + "\n")
    section = ccnet_run.section.model_copy(
        update={"classifier": ccnet_run.section.classifier.model_copy(update={"min_ref_pages": 10})}
    )
    spec = next(s for s in build_stages_from_section(section) if s.name == CLASSIFIER_MODEL_STAGE)
    result = run_stage(spec, run_dir, executor="inprocess")
    training = json.loads((run_dir / CLASSIFIER_MODEL_STAGE / "training.json").read_text())
    assert training["positives_source"] == "crawl_pages_cited_by_wikipedia"
    assert training["positives"] == training["ref_pages_in_crawl"] >= 10
    assert training["negatives"] == training["positives"]
    assert "positives_from_wikipedia" not in result.counters.totals


def test_user_supplied_cc_net_models_and_cutoffs(ccnet_run, tmp_path: Path) -> None:
    """`lm.models_dir` with en.sp.model / en.arpa.bin: nothing trained, the given cutoffs used."""
    import shutil

    from llamapipe.sources.commoncrawl import MODELS_STAGE

    supplied = tmp_path / "cc_net_models"
    supplied.mkdir()
    for name in ("en.sp.model", "en.arpa.bin"):
        shutil.copyfile(ccnet_run.run_dir / MODELS_STAGE / name, supplied / name)
    run_dir = tmp_path / "run"
    shutil.copytree(ccnet_run.run_dir / HASHES_STAGE, run_dir / HASHES_STAGE)
    lm = ccnet_run.section.lm.model_copy(
        update={"models_dir": str(supplied), "cutoffs": {"en": CCNET_EN_CUTOFFS}}
    )
    section = ccnet_run.section.model_copy(update={"lm": lm})
    models_spec = next(s for s in build_stages_from_section(section) if s.name == MODELS_STAGE)
    assert models_spec.upstream == [HASHES_STAGE]  # no Wikipedia needed
    run_stage(models_spec, run_dir, executor="inprocess")
    info = json.loads((run_dir / MODELS_STAGE / "en.json").read_text())
    assert info["trained"] is False and info["cutoffs_from"] == "config"
    assert info["cutoffs"] == list(CCNET_EN_CUTOFFS)
    assert info["sp_model"] == str((supplied / "en.sp.model").resolve())
    assert not (run_dir / MODELS_STAGE / "en.arpa.bin").exists()
    missing = section.model_copy(
        update={"lm": lm.model_copy(update={"models_dir": str(tmp_path / "none")})}
    )
    spec = next(s for s in build_stages_from_section(missing) if s.name == MODELS_STAGE)
    with pytest.raises(Exception, match="supplied cc_net model missing"):
        run_stage(spec, run_dir, executor="inprocess", retries=0, force=True)


def test_first_occurrence_marks_follow_input_order(tmp_path: Path) -> None:
    import numpy as np

    from llamapipe.engine import Counters, FinalizeContext
    from llamapipe.sources.commoncrawl.stages import (
        dochash_path,
        finalize_first_occurrences,
        first_occurrence_path,
    )

    shards = {0: [5, 7, 5], 1: [9, 7], 3: [], 4: [1, 9, 2]}
    for index, values in shards.items():
        path = dochash_path(tmp_path, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(values, dtype=np.uint64))
    ctx = FinalizeContext("s", tmp_path, tmp_path, {}, 0, False, [], Counters())
    finalize_first_occurrences(ctx)
    masks = {i: np.load(first_occurrence_path(tmp_path, i)).tolist() for i in shards}
    assert masks == {
        0: [True, True, False],
        1: [True, False],
        3: [],
        4: [True, False, True],
    }
    assert ctx.counters.totals["exact_duplicate_documents"] == 3


def test_score_batches_give_each_page_what_it_gets_alone(ccnet_run) -> None:
    """`score_batch` runs each step over a batch; the pages, their scores and buckets must not
    depend on the batch size, and match the scored stage's output."""
    from llamapipe.sources.commoncrawl.documents import iter_pages, score_batch
    from llamapipe.sources.commoncrawl.groups import load_group
    from llamapipe.sources.commoncrawl.models import MODELS_STAGE, load_language_models
    from llamapipe.text.ccnet_normalize import hash_lines
    from llamapipe.text.langid import LanguageIdentifier

    run_dir = ccnet_run.run_dir
    group = load_group(run_dir / HASHES_STAGE, [0, 1])
    models = load_language_models(run_dir / MODELS_STAGE, ["en"])
    lid = LanguageIdentifier()
    pages = list(iter_pages(ccnet_run.inputs[0], 300, lambda *_: None, lambda *_: None))
    hashes = [hash_lines(page.lines) for page in pages]

    def run(batch: int) -> tuple[list[tuple], int]:
        out, duplicated = [], []
        for i in range(0, len(pages), batch):
            for scored in score_batch(
                pages[i : i + batch],
                group,
                lid,
                models,
                line_hashes=hashes[i : i + batch],
                on_duplicated=duplicated.append,
            ):
                out.append(
                    (
                        scored.page.index,
                        scored.text,
                        scored.language,
                        scored.language_score,
                        scored.perplexity,
                        scored.bucket,
                    )
                )
        return out, len(duplicated)

    alone, duplicated_alone = run(1)
    batched, duplicated_batched = run(7)
    assert batched == alone and duplicated_batched == duplicated_alone
    assert {row[5] for row in alone} == {"head", "middle", "tail", None}  # None: not English
    stage = [
        (d.text, d.meta["language"], d.meta.get("perplexity"), d.meta.get("bucket"))
        for d in _docs(run_dir, SCORED_STAGE, 0)
    ]
    assert stage == [(text, lang, ppl, bucket) for _i, text, lang, _s, ppl, bucket in alone]
