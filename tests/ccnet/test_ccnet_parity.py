"""cc_net itself as the oracle, page by page, on the two real 2019 WET shards as one dedup group.

cc_net's own code (the `cc_net` fixture: the 1.0.0 source from the oracle tarball) runs the
steps of its mining pipeline on the same files: `process_wet_file.parse_warc_file` (min_len 300, the
headers handed to its `parse_doc` by name), `HashesCollector` per shard then
`DuplicatesRemover` over both shards' hash files, its fastText `Classifier` (threshold 0.5,
keep English) with the same lid.176 model, then `MultiSentencePiece` + `DocLM` with the
SentencePiece and KenLM models llamapipe's `ccnet-models` stage trained, and
`PerplexityBucket` with that stage's cutoffs. llamapipe's side is its own stage output: the
dedup audit (every page, before language id) and the filtered stage's documents, its decisions
rerun with all three buckets kept so that no page is dropped after perplexity.
"""

from __future__ import annotations

import copy
import gzip
import json
import shutil
from pathlib import Path

import pytest

from llamapipe.config.sources.commoncrawl import LanguageModelConfig
from llamapipe.engine import run_stage
from llamapipe.formats.documents import read_documents
from llamapipe.formats.wet import read_wet
from llamapipe.recipe import CCNET_LID_THRESHOLD, CCNET_MIN_DOC_LENGTH
from llamapipe.sources.commoncrawl import (
    FILTERED_STAGE,
    HASHES_STAGE,
    MODELS_STAGE,
    SCORED_STAGE,
    build_stages_from_section,
)
from llamapipe.sources.commoncrawl.dedup_audit import audit_path, read_audit
from llamapipe.text.langid import default_model_path

SHARDS = ["CC-MAIN-2019-30-sample-00.warc.wet.gz", "CC-MAIN-2019-30-sample-01.warc.wet.gz"]
DEDUP_FIELDS = ("line_ids", "nlines", "original_nlines", "length", "original_length")


@pytest.fixture(scope="module")
def all_buckets_run(ccnet_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's CCNet run (shards 00 and 01 form its first dedup group), its decisions
    run again keeping head, middle and tail, without the classifier: every English page with
    its perplexity. Decisions are in no scoring stage's config: only the decision step runs."""
    run_dir = tmp_path_factory.mktemp("ccnet-all-buckets") / "run"
    shutil.copytree(ccnet_run.run_dir, run_dir)
    shutil.rmtree(run_dir / FILTERED_STAGE)  # rebuilt below with the other decisions
    lm = {**ccnet_run.section.lm.model_dump(), "keep_buckets": ["head", "middle", "tail"]}
    section = ccnet_run.section.model_copy(
        update={
            "lm": LanguageModelConfig(**lm),
            "classifier": ccnet_run.section.classifier.model_copy(update={"enabled": False}),
        }
    )
    stages = {spec.name: spec for spec in build_stages_from_section(section)}
    for name in (HASHES_STAGE, MODELS_STAGE, SCORED_STAGE):
        assert run_stage(stages[name], run_dir, executor="inprocess").skipped, name
    result = run_stage(stages[FILTERED_STAGE], run_dir, executor="inprocess")
    assert result.shards_run == 3
    return run_dir


@pytest.fixture(scope="module")
def oracle(cc_net, ccnet_run, realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """cc_net's results per URL: after dedup (`dedup`), and after LID + LM + bucket (`mined`)."""
    tmp = tmp_path_factory.mktemp("cc_net_mine")
    parsed = []
    for name in SHARDS:
        with gzip.open(realdata / "commoncrawl" / name, "rt") as fh:  # cc_net reads text mode
            parsed.append(
                list(cc_net.process_wet_file.parse_warc_file(fh, min_len=CCNET_MIN_DOC_LENGTH))
            )
    hash_files = []
    for i, docs in enumerate(parsed):  # its `hashes` step: one file per shard
        hash_files.append(tmp / f"{i:04d}.bin")
        collector = cc_net.dedup.HashesCollector(field="raw_content", output=hash_files[-1])
        list(collector.map(copy.deepcopy(docs)))
    remover = cc_net.dedup.DuplicatesRemover(field="raw_content", hashes_files=hash_files)
    all_docs = [copy.deepcopy(doc) for docs in parsed for doc in docs]
    deduped = [doc for doc in remover.map(all_docs) if doc is not None]

    models_dir = ccnet_run.run_dir / MODELS_STAGE
    info = json.loads((models_dir / "en.json").read_text())
    cutoffs_csv = tmp / "cutoffs.csv"
    cutoffs_csv.write_text(f",en\n30,{info['cutoffs'][0]}\n60,{info['cutoffs'][1]}\n")
    lid = cc_net.split_by_lang.Classifier(
        model=default_model_path(),
        field="raw_content",
        out_field="language",
        threshold=CCNET_LID_THRESHOLD,
    )
    sp = cc_net.perplexity.MultiSentencePiece(
        {"en": models_dir / "en.sp.model"}, field="raw_content", normalize=True
    )
    lm = cc_net.perplexity.DocLM(
        {"en": models_dir / "en.arpa.bin"}, field="tokenized", normalize=False
    )
    bucket = cc_net.perplexity.PerplexityBucket(cutoffs_csv)
    identified = [d for d in lid.map(copy.deepcopy(deduped)) if d is not None]
    english = [d for d in identified if d["language"] == "en"]
    mined = list(bucket.map(lm.map(sp.map(english))))
    urls = [doc["url"] for docs in parsed for doc in docs]
    assert len(urls) == len(set(urls))  # per-URL comparison is well defined
    return {
        "parsed": urls,
        "raw": {doc["url"]: doc["raw_content"].split("\n") for docs in parsed for doc in docs},
        "dedup": {doc["url"]: doc for doc in deduped},
        "mined": {doc["url"]: doc for doc in mined},
    }


def _audit_rows(run_dir: Path) -> dict[str, dict]:
    rows = []
    for index in range(len(SHARDS)):
        rows += read_audit(audit_path(run_dir / SCORED_STAGE, f"{index:05d}"))
    return {row["url"]: row for row in rows}


@pytest.mark.slow
def test_dedup_matches_cc_net_page_by_page(ccnet_run, oracle: dict) -> None:
    """Parsing and the two-pass line dedup: the same pages, and for each the same line_ids,
    nlines, original_nlines, length and original_length as cc_net's DuplicatesRemover."""
    audit = _audit_rows(ccnet_run.run_dir)
    assert list(audit) == oracle["parsed"]  # same pages past min_len, in reading order
    theirs = oracle["dedup"]
    assert len(theirs) >= 250
    for url, row in audit.items():
        if url not in theirs:  # cc_net drops a page when every line is a duplicate
            assert row["nlines"] == 0 and row["line_ids"] == [], url
            continue
        assert {f: row[f] for f in DEDUP_FIELDS} == {f: theirs[url][f] for f in DEDUP_FIELDS}, url
    # pages keeping the first copy of a non-empty line they repeat are part of the check
    repeats = 0
    for url, doc in theirs.items():
        lines = oracle["raw"][url]
        kept_repeated = [i for i in doc["line_ids"] if lines[i] and lines[i] in lines[i + 1 :]]
        repeats += bool(kept_repeated)
    assert repeats >= 5


@pytest.mark.slow
def test_language_id_perplexity_and_bucket_match_cc_net(all_buckets_run: Path, oracle) -> None:
    """The same English pages as cc_net's Classifier, and for each the same language score,
    perplexity (whole page scored once) and bucket, plus the dedup fields of the output."""
    ours = {}
    for index in range(len(SHARDS)):
        shard = all_buckets_run / FILTERED_STAGE / "shards" / f"{index:05d}.parquet"
        for doc in read_documents(shard):
            ours[doc.meta["url"]] = doc
    theirs = oracle["mined"]
    assert len(theirs) >= 80
    assert set(ours) == set(theirs)
    buckets = set()
    for url, doc in ours.items():
        meta, expected = doc.meta, theirs[url]
        assert doc.text == expected["raw_content"], url
        for field in (*DEDUP_FIELDS, "language", "perplexity", "bucket"):
            assert meta[field] == expected[field], (url, field)
        assert meta["language_score"] == pytest.approx(float(expected["language_score"])), url
        buckets.add(meta["bucket"])
    assert buckets == {"head", "middle", "tail"}


@pytest.mark.parametrize(
    "name",
    [
        "ccnet_tests_sample.warc.txt",  # cc_net's own test file: plain text, LF line ends
        "whirlwind_CC-MAIN-2024-22.warc.wet.gz",  # a 2024 record: language header, CRLF
    ],
)
def test_parsing_matches_cc_net_on_plain_and_modern_wet(cc_net, realdata: Path, name: str):
    """Every record as cc_net's `parse_warc_file` reads it (min_len 0): title, raw_content,
    nlines and Content-Length, through both of our readers (plain text and gzip)."""
    path = realdata / "commoncrawl" / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        theirs = list(cc_net.process_wet_file.parse_warc_file(fh, min_len=0))
    ours = list(read_wet(str(path)))
    assert len(theirs) == len(ours) >= 1
    for doc, rec in zip(theirs, ours, strict=True):
        assert (rec.url, rec.title, rec.raw_content, rec.nlines, rec.length, rec.digest) == (
            doc["url"],
            doc["title"],
            doc["raw_content"],
            doc["nlines"],
            doc["length"],
            doc["digest"],
        )
