"""Scores stored once, decisions applied last: a threshold edit re-runs only the decision
step, and its output equals a from-scratch build with the new values; every removed page is
written with its filter, reason and score, as many as stats.json counts (real 2019 shards)."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from llamapipe.engine import run_stage, stage_status
from llamapipe.filters import iter_removed
from llamapipe.formats.wet import is_normal_skip
from llamapipe.sources.commoncrawl import (
    CLASSIFIED_STAGE,
    FILTERED_STAGE,
    FINAL_STAGE,
    SCORED_STAGE,
    build_stages_from_section,
)
from llamapipe.sources.commoncrawl.models import WIKIPEDIA_STAGE

pytestmark = pytest.mark.slow

#: Every decision key edited at once (the defaults: 0.5, head + middle, 0.25).
EDITS = {"lid_threshold": 0.8, "keep_buckets": ["middle", "tail"], "ref_threshold": 0.1}
SCORING_STAGES = 5  # hashes, models, scored, classifier-model, classified


def _edited(section):
    return section.model_copy(
        update={
            "lid_threshold": EDITS["lid_threshold"],
            "lm": section.lm.model_copy(update={"keep_buckets": EDITS["keep_buckets"]}),
            "classifier": section.classifier.model_copy(
                update={"threshold": EDITS["ref_threshold"]}
            ),
        }
    )


def _files(stage_dir: Path, *folders: str) -> dict[str, bytes]:
    return {
        str(p.relative_to(stage_dir)): p.read_bytes()
        for folder in folders
        for p in sorted((stage_dir / folder).glob("*"))
    }


@pytest.fixture(scope="module")
def edited_run(ccnet_run, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The session's run with every decision edited, re-run; and a fresh build of the edited
    config (writing removed pages) beside it."""
    edited = _edited(ccnet_run.section)
    run_dir = tmp_path_factory.mktemp("ccnet-edited") / "run"
    shutil.copytree(ccnet_run.run_dir, run_dir)
    stages = build_stages_from_section(edited)
    before = {s.name: stage_status(s, run_dir).state for s in stages}
    results, seconds = {}, {}
    for spec in stages:
        start = time.perf_counter()
        results[spec.name] = run_stage(spec, run_dir, executor="inprocess", force=True)
        seconds[spec.name] = time.perf_counter() - start
    fresh_dir = tmp_path_factory.mktemp("ccnet-fresh") / "run"
    shutil.copytree(ccnet_run.run_dir / WIKIPEDIA_STAGE, fresh_dir / WIKIPEDIA_STAGE)
    fresh = {}
    for spec in build_stages_from_section(edited, write_removed=True):
        fresh[spec.name] = run_stage(spec, fresh_dir, executor="inprocess")
    return {
        "run_dir": run_dir,
        "fresh_dir": fresh_dir,
        "stages": stages,
        "before": before,
        "results": results,
        "seconds": seconds,
        "fresh": fresh,
    }


def test_a_decision_edit_reruns_only_the_decision_step(edited_run) -> None:
    names = [s.name for s in edited_run["stages"]]
    assert names[SCORING_STAGES:] == [FILTERED_STAGE, FINAL_STAGE]
    before = edited_run["before"]
    assert [before[n] for n in names[:SCORING_STAGES]] == ["complete"] * SCORING_STAGES
    assert before[FILTERED_STAGE] == "stale"
    results = edited_run["results"]
    for name in names[:SCORING_STAGES]:
        assert results[name].skipped and results[name].shards_run == 0, name
    assert results[FILTERED_STAGE].shards_run == results[FINAL_STAGE].shards_run == 3
    # no model is loaded: the decision step is fast even on this loaded 2-core machine
    assert edited_run["seconds"][FILTERED_STAGE] < 30


def test_edited_output_equals_a_fresh_build(edited_run, ccnet_run) -> None:
    run_dir, fresh_dir = edited_run["run_dir"], edited_run["fresh_dir"]
    for stage in (FILTERED_STAGE, FINAL_STAGE):
        ours = _files(run_dir / stage, "shards", "dochashes", "first_occurrence")
        theirs = _files(fresh_dir / stage, "shards", "dochashes", "first_occurrence")
        assert ours and ours == theirs, stage
        stats = json.loads((run_dir / stage / "stats.json").read_text())
        fresh_stats = json.loads((fresh_dir / stage / "stats.json").read_text())
        assert stats["removed"] == fresh_stats["removed"], stage
    # the edits did change the output, each through its own rule
    removed = json.loads((run_dir / FILTERED_STAGE / "stats.json").read_text())["removed"]
    old = json.loads((ccnet_run.run_dir / FILTERED_STAGE / "stats.json").read_text())["removed"]
    assert removed["perplexity_bucket_head"] > 0 and "perplexity_bucket_head" not in old
    assert removed["language_score_below_threshold"] > old["language_score_below_threshold"]
    assert removed["reference_score_below_threshold"] < old["reference_score_below_threshold"]


CC_REASONS = {
    "too_short": "min_length",
    "all_lines_duplicated": "paragraph_dedup",
    "language_score_below_threshold": "language_score",
    "language_not_kept": "language",
    "perplexity_bucket_head": "perplexity_bucket",
    "perplexity_bucket_middle": "perplexity_bucket",
    "perplexity_bucket_tail": "perplexity_bucket",
    "reference_score_below_threshold": "reference_classifier",
    "exact_duplicate_document": "exact_dedup",
}


def test_removed_pages_match_the_stats_with_filter_and_score(edited_run) -> None:
    fresh_dir = edited_run["fresh_dir"]
    seen = Counter()
    for stage in (SCORED_STAGE, FILTERED_STAGE, FINAL_STAGE):
        stats = json.loads((fresh_dir / stage / "stats.json").read_text())
        counted = {r: n for r, n in stats["removed"].items() if r in CC_REASONS}
        assert not [r for r in set(stats["removed"]) - set(counted) if not is_normal_skip(r)]
        written = Counter()
        for doc, filter_name, reason, score in iter_removed(fresh_dir / stage):
            written[reason] += 1
            assert filter_name == CC_REASONS[reason], (stage, reason)
            if reason.startswith("perplexity_bucket_"):
                assert score == doc.meta["perplexity"] and doc.meta["bucket"] in reason
            elif reason == "reference_score_below_threshold":
                assert score == doc.meta["ref_score"] < EDITS["ref_threshold"]
            elif reason == "language_score_below_threshold":
                assert score == doc.meta["language_score"] < EDITS["lid_threshold"]
            else:
                assert score is None
            assert doc.id.startswith("commoncrawl/CC-MAIN-2019-3")
            assert doc.text or reason == "too_short"
        assert written == counted and written, stage
        seen.update(written)
        if stage != FINAL_STAGE:
            assert stats["filter_cpu_s"], stage
    assert set(seen) >= set(CC_REASONS) - {"perplexity_bucket_middle", "perplexity_bucket_tail"}
    assert json.loads((fresh_dir / CLASSIFIED_STAGE / "stats.json").read_text())["filter_cpu_s"]
