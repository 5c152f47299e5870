"""write_removed on real data: every removal a stage counts is a row of its removed/ files,
with the filter and score that decided; the switch is per source and global."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from llamapipe.config import config_from_dict, write_removed_for
from llamapipe.config.sources.c4_from_wet import C4FromWetConfig
from llamapipe.config.sources.github import GitHubSourceConfig
from llamapipe.engine import run_stage
from llamapipe.filters import iter_removed
from llamapipe.formats.documents import read_documents
from llamapipe.sources import source_stages
from llamapipe.sources.c4_from_wet import build_wet_stages
from llamapipe.sources.github import build_source_stages

WET = "commoncrawl/CC-MAIN-2019-30-sample-{:02d}.warc.wet.gz"


def _run(stages: list, run_dir: Path) -> dict[str, dict]:
    return {s.name: run_stage(s, run_dir, executor="inprocess").counters.to_dict() for s in stages}


def _removed_by_stage(run_dir: Path, stats: dict[str, dict]) -> dict[str, Counter]:
    return {name: Counter(r[2] for r in iter_removed(run_dir / name)) for name in stats}


def test_github_removed_rows_equal_the_counts(realdata: Path, tmp_path: Path) -> None:
    cfg = GitHubSourceConfig(inputs=[str(realdata / "github/github_files_sample.jsonl.gz")])
    stats = _run(build_source_stages(cfg, write_removed=True), tmp_path)
    removed = _removed_by_stage(tmp_path, stats)
    for name, counts in stats.items():
        assert removed[name] == Counter(counts["removed"]), name
    assert removed["ingest/github/candidates"]["license"] == 22
    final = removed["ingest/github"]
    assert final["duplicate"] and final["max_line_length"] and final["only_header"]
    candidates = list(read_documents(tmp_path / "ingest/github/candidates/shards/00000.parquet"))
    kept = list(read_documents(tmp_path / "ingest/github/shards/00000.parquet"))
    by_id = {d.id: d for d in candidates}
    for doc, filter_name, reason, score in iter_removed(tmp_path / "ingest/github"):
        # a removed row is the candidate as it was, with the score the cut compared
        assert doc.meta == by_id[doc.id].meta and doc.text == by_id[doc.id].text
        if reason == "max_line_length":
            assert filter_name == "max_line_length" and score == doc.meta["max_line_length"] > 1000
        if reason == "mean_line_length":
            assert score == doc.meta["mean_line_length_exact"] > 100
    assert len(kept) + sum(final.values()) == len(candidates)


def test_c4_from_wet_removed_rows_equal_the_counts(realdata: Path, tmp_path: Path) -> None:
    inputs = [str(realdata / WET.format(i)) for i in (0, 1)]
    stages = build_wet_stages(inputs, 1, C4FromWetConfig(), write_removed=True)
    stats = _run(stages, tmp_path)
    removed = _removed_by_stage(tmp_path, stats)
    for name, counts in stats.items():
        assert removed[name] == Counter(counts["removed"]), name
    assert removed["ingest/c4/candidates"]["skipped_record_type:warcinfo"] == 2
    language = [r for r in iter_removed(tmp_path / "ingest/c4/decision")]
    assert len(language) > 100
    for doc, filter_name, reason, score in language:
        assert (filter_name, reason) == ("language", "language")
        assert score == doc.meta["language_score_exact"]
        assert doc.meta["language"] != "en" or score < 0.99


def test_switch_is_global_with_a_per_source_override(realdata: Path, tmp_path: Path) -> None:
    data = {
        "run": {"dir": str(tmp_path / "run")},
        "sources": {
            "write_removed": True,
            "commoncrawl": {"enabled": False},
            "wikipedia": {"inputs": [str(realdata / "wikipedia")], "write_removed": False},
            "stackexchange": {"inputs": [str(realdata / "stackexchange")]},
            "arxiv": {"inputs": [str(realdata / "arxiv")]},
        },
    }
    cfg = config_from_dict(data, tmp_path)
    assert write_removed_for(cfg, "arxiv") and write_removed_for(cfg, "stackexchange")
    assert not write_removed_for(cfg, "wikipedia")
    assert write_removed_for(cfg, "commoncrawl")
    flags = {s.name: getattr(s.config, "write_removed", None) for s in source_stages(cfg)}
    assert flags["ingest/wikipedia/documents"] is False and flags["ingest/wikipedia"] is False
    assert flags["ingest/arxiv/documents"] and flags["ingest/arxiv"]
    stats = _run(source_stages(cfg, ["arxiv"]), cfg.run_dir)
    assert (cfg.run_dir / "ingest/arxiv/documents/removed/00000.parquet").is_file()
    assert _removed_by_stage(cfg.run_dir, {"ingest/arxiv/documents": 0}) == {
        "ingest/arxiv/documents": Counter(stats["ingest/arxiv/documents"]["removed"])
    }


@pytest.mark.parametrize("value", [True, False])
def test_write_removed_stays_out_of_the_fingerprint_at_its_default(value: bool) -> None:
    from llamapipe.engine.stage_config import config_dict

    cfg = GitHubSourceConfig(inputs=["x.jsonl"])
    (stage, *_) = build_source_stages(cfg, write_removed=value)
    assert ("write_removed" in config_dict(stage.config)) is value
