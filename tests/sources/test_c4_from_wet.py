"""C4 from WET: each C4 rule on small cases, the rules on real WET pages, global span dedup."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from llamapipe.config.sources.c4_from_wet import C4FromWetConfig
from llamapipe.engine import run_stage
from llamapipe.formats.documents import read_documents
from llamapipe.formats.wet import read_wet
from llamapipe.sources.c4_from_wet import build_wet_stages
from llamapipe.text.c4_rules import (
    POLICY_SUBSTRINGS,
    BadWordMatcher,
    clean_page,
    load_badwords,
    page_sentences,
    remove_sentences,
    span_keys,
    split_sentences,
)

WET = "commoncrawl/CC-MAIN-2019-30-sample-{:02d}.warc.wet.gz"
GOOD = (
    "The river rose quickly after the storm. Farmers moved their cattle to higher ground. "
    "Nobody expected the bridge to hold. It did, to everyone's relief. The town celebrated."
)


def _wet(realdata: Path, i: int) -> str:
    return str(realdata / WET.format(i))


def _run(inputs: list[str], run_dir: Path, **rules) -> tuple[dict, dict]:
    stats = {}
    for spec in build_wet_stages(inputs, 1, C4FromWetConfig(**rules)):
        stats[spec.name] = run_stage(spec, run_dir, executor="inprocess").counters.to_dict()
    return stats, _docs(run_dir / "ingest/c4/shards")


def _docs(folder: Path) -> dict:
    return {d.id: d for f in sorted(folder.glob("*.parquet")) for d in read_documents(f)}


def test_line_rules() -> None:
    page = "\n".join(
        [
            "Home | About | Contact",  # no terminal punctuation
            "Read more...",  # ellipsis
            "Click here.",  # two words
            "A " + "x" * 1001 + " word is far too long.",
            "Please enable JavaScript to view the comments powered by Disqus.",
            "By using this site you agree to our Privacy Policy and Terms of Use.",
            "The battle began at dawn.[1] It ended by noon [citation needed].",
            GOOD,
        ]
    )
    result = clean_page(page)
    assert result.lines == [
        "The battle began at dawn. It ended by noon .",
        GOOD,
    ]
    assert result.lines_removed == Counter(
        no_terminal_punctuation=2,
        too_few_words=1,
        too_long_word=1,
        javascript=1,
        policy=1,
    )
    assert all(p == p.lower() for p in POLICY_SUBSTRINGS)


def test_page_rules() -> None:
    assert clean_page(GOOD + "\nLorem ipsum dolor sit amet, consectetur.").reason == "lorem_ipsum"
    assert clean_page(GOOD + "\nfunction f() { return 1; } is code.").reason == "curly_bracket"
    # The page rules look at candidate lines only: a "{" in a dropped menu line is harmless.
    assert clean_page(GOOD + "\nmenu { display: none }").lines == [GOOD]
    assert clean_page("One sentence here. Two sentences here. Three here.").reason == (
        "too_few_sentences"
    )
    matcher = BadWordMatcher(load_badwords())
    assert matcher.find("What the fuck is this.") == "fuck"
    assert matcher.find("Scunthorpe United won the match.") is None  # whole words only
    assert BadWordMatcher([]).find("anything") is None


def test_sentence_splitter() -> None:
    assert split_sentences("Dr. Smith met Mr. J. Doe at 5 p.m. on Friday. They talked.") == [
        "Dr. Smith met Mr. J. Doe at 5 p.m. on Friday.",
        "They talked.",
    ]
    assert split_sentences('He said "Stop!" Then he left. Why? "Because."') == [
        'He said "Stop!"',
        "Then he left.",
        "Why?",
        '"Because."',
    ]
    assert split_sentences("Version 2.0 is out. 3 bugs were fixed.") == [
        "Version 2.0 is out.",
        "3 bugs were fixed.",
    ]
    lines = [GOOD, "Another line. With two sentences."]
    sentences = page_sentences(lines)
    assert len(sentences) == 7 and len(span_keys(sentences)) == 5
    # Dropping the span starting at sentence 4 removes sentences 4, 5 and 6.
    assert remove_sentences(lines, {4, 5, 6}) == [
        " ".join(split_sentences(GOOD)[:4]),
    ]


def test_rules_on_real_wet_pages(realdata: Path) -> None:
    kept = 0
    reasons: Counter[str] = Counter()
    for record in read_wet(_wet(realdata, 0)):
        page = clean_page(f"{record.title}\n{record.raw_content}")
        if page.lines is None:
            reasons[page.reason] += 1
            continue
        kept += 1
        assert len(page_sentences(page.lines)) >= 5
        for line in page.lines:
            assert line.endswith((".", "!", "?", '"')) and not line.endswith("...")
            assert len(line.split()) >= 3
            lower = line.lower()
            assert "javascript" not in lower and "{" not in line and "lorem ipsum" not in lower
            assert not any(p in lower for p in POLICY_SUBSTRINGS)
    assert kept >= 30 and reasons["too_few_sentences"] >= 50


def test_stage_english_threshold_and_meta(realdata: Path, tmp_path: Path) -> None:
    stats, docs = _run([_wet(realdata, 0), _wet(realdata, 1)], tmp_path)
    cand = stats["ingest/c4/candidates"]
    assert cand["totals"]["docs_in"] == 331
    # each WET file's warcinfo record is counted, not an input error
    assert cand["removed"]["skipped_record_type:warcinfo"] == 2 and not cand["errors"]
    # the language cut is the decision stage's, on the scores the candidates stored
    assert stats["ingest/c4/decision"]["removed"]["language"] > 100
    assert cand["removed"]["bad_word"] >= 1
    assert docs
    urls = {r.url: r.digest for i in (0, 1) for r in read_wet(_wet(realdata, i))}
    for doc in docs.values():
        assert doc.id.startswith("c4/CC-MAIN-2019-30-sample-0")
        assert doc.meta["language"] == "en" and doc.meta["language_score"] >= 0.99
        # url + WET digest: what the mix stage uses to count a page drawn by CCNet only once
        assert urls[doc.meta["url"]] == doc.meta["digest"] and doc.meta["digest"]


def test_span_dedup_is_global_first_occurrence_wins(realdata: Path, tmp_path: Path) -> None:
    first = _wet(realdata, 0)
    copy = tmp_path / "CC-MAIN-2019-30-copy-of-00.warc.wet.gz"
    shutil.copy(first, copy)
    stats, docs = _run(
        [first, _wet(realdata, 1), str(copy)],
        tmp_path / "run",
        min_language_score=0.5,
        dedup_buckets=3,
    )
    alone_stats, alone = _run([first], tmp_path / "alone", min_language_score=0.5)
    from_first = {k: d for k, d in docs.items() if "sample-00/" in k}
    from_copy = [k for k in docs if "copy-of-00/" in k]
    # Every page of the copy repeats an earlier page whole: nothing of it survives ...
    assert from_copy == []
    assert stats["ingest/c4"]["removed"]["too_few_sentences_after_dedup"] >= len(from_first)
    # ... while the first copy is cut only by its repeats inside shard 0 (as when it runs alone).
    assert {k: d.text for k, d in from_first.items()} == {k: d.text for k, d in alone.items()}
    assert (
        stats["ingest/c4/dedup"]["totals"]["repeats"]
        > alone_stats["ingest/c4/dedup"]["totals"]["repeats"]
    )
    # No three-sentence span appears twice in the output, across all shards.
    keys = Counter(k for d in docs.values() for k in span_keys(page_sentences(d.text.split("\n"))))
    assert len(keys) > 1000 and [k for k, n in keys.items() if n > 1] == []


def test_span_dedup_can_be_disabled(realdata: Path, tmp_path: Path) -> None:
    stats, _ = _run([_wet(realdata, 0)], tmp_path, dedup_spans=False, min_language_score=0.5)
    assert "ingest/c4/dedup" not in stats
    assert (
        stats["ingest/c4"]["totals"]["docs_out"]
        == stats["ingest/c4/decision"]["totals"]["docs_out"]
    )
