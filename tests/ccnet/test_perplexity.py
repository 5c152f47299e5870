"""Perplexity exactly as CCNet computes it, buckets, and spam vs article perplexity."""

from __future__ import annotations

import gzip
import json
import re
import statistics
from pathlib import Path

import kenlm
import pytest
import sentencepiece as spm
from fastwarc.warc import ArchiveIterator, WarcRecordType

from llamapipe.text.ccnet_normalize import normalize_for_lm
from llamapipe.text.html_to_text import html_to_text
from llamapipe.text.kenlm_tools import ENV_VAR, KenLMToolMissing, find_kenlm_binary
from llamapipe.text.perplexity import (
    PerplexityScorer,
    bucket_for,
    percentile_cutoffs,
    perplexity_from_scores,
)

SPAM_WARC = "resiliparse_CC-MAIN-20200808165417-20200808195417-00395.sample.warc.gz"
CCNET_HEAD = "ccnet_cc_en_head-0091.jsonl.gz"


def test_buckets_and_cutoffs() -> None:
    assert bucket_for(339.9, (340.0, 520.0)) == "head"
    assert bucket_for(340.0, (340.0, 520.0)) == "middle"
    assert bucket_for(520.0, (340.0, 520.0)) == "tail"
    assert bucket_for(-1.0, (340.0, 520.0)) == "all"
    assert bucket_for(100.0, None) == "all"
    assert percentile_cutoffs(range(1, 101)) == (30.7, 60.4)
    with pytest.raises(ValueError):
        percentile_cutoffs([-1.0])
    assert perplexity_from_scores(-6.0, 3) == 100.0
    assert perplexity_from_scores(0.0, 0) == -1.0


def test_find_kenlm_binary_env_first_and_error(tmp_path: Path, monkeypatch) -> None:
    tool = tmp_path / "lmplz"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert find_kenlm_binary("lmplz") == tool
    with pytest.raises(KenLMToolMissing, match=r"tools/build_kenlm.sh"):
        find_kenlm_binary("no-such-kenlm-tool")


def _models(run_dir: Path) -> tuple[Path, Path]:
    return run_dir / "ccnet-models" / "en.sp.model", run_dir / "ccnet-models" / "en.arpa.bin"


@pytest.mark.slow
def test_perplexity_is_ccnets_whole_document_formula(ccnet_run, realdata: Path) -> None:
    """Default unit: the page normalized as one string (newlines deleted), scored once. The
    per-line option gives another number. cc_net itself is compared in test_ccnet_parity.py."""
    sp_path, lm_path = _models(ccnet_run.run_dir)
    with gzip.open(realdata / "commoncrawl" / CCNET_HEAD, "rt") as fh:
        text = json.loads(fh.readline())["text"]
    sp = spm.SentencePieceProcessor(model_file=str(sp_path))
    lm = kenlm.Model(str(lm_path))
    glued = sp.encode(normalize_for_lm(text), out_type=str)
    expected = round(10 ** (-lm.score(" ".join(glued)) / (len(glued) + 1)), 1)
    assert PerplexityScorer(sp_path, lm_path).perplexity(text) == expected
    log_sum, length = 0.0, 0
    for line in text.split("\n"):
        pieces = sp.encode(normalize_for_lm(line), out_type=str)
        log_sum += lm.score(" ".join(pieces))
        length += len(pieces) + 1
    per_line = round(10 ** (-log_sum / length), 1)
    assert PerplexityScorer(sp_path, lm_path, unit="line").perplexity(text) == per_line
    assert per_line != expected
    with pytest.raises(ValueError, match="perplexity unit"):
        PerplexityScorer(sp_path, lm_path, unit="sentence")


def _spam_texts(path: Path) -> list[str]:
    texts = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            body = rec.reader.read()
            declared = re.search(rb"charset=[\"']?([\w-]+)", body[:4000])
            charset = declared.group(1).decode() if declared else "utf-8"
            try:
                html = body.decode(charset, "replace")
            except LookupError:
                html = body.decode("utf-8", "replace")
            lines = (line.strip() for line in html_to_text(html).split("\n"))
            text = "\n".join(line for line in lines if line)
            if len(text) >= 300:
                texts.append(text)
    return texts


@pytest.mark.slow
def test_spam_pages_score_worse_than_articles(ccnet_run, realdata: Path) -> None:
    scorer = PerplexityScorer(*_models(ccnet_run.run_dir))
    spam = [scorer.perplexity(t) for t in _spam_texts(realdata / "commoncrawl" / SPAM_WARC)]
    with gzip.open(realdata / "commoncrawl" / CCNET_HEAD, "rt") as fh:
        articles = [scorer.perplexity(json.loads(line)["text"]) for line in fh]
    assert len(spam) >= 10 and len(articles) == 10
    assert statistics.median(spam) > 3 * statistics.median(articles)
    assert min(spam) > max(articles)
    info = json.loads((ccnet_run.run_dir / "ccnet-models" / "en.json").read_text())
    cutoffs = tuple(info["cutoffs"])
    assert {bucket_for(p, cutoffs) for p in spam} == {"tail"}
