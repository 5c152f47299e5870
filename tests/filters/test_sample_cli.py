"""`llamapipe data sample` and the filter CPU table of `data stats` on a real built stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamapipe.filters import iter_removed
from llamapipe.formats.documents import read_documents
from tests.engine.conftest import cli


@pytest.fixture(scope="module")
def github_run(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real GitHub sample built with write_removed (in [sources]), through the CLI."""
    root = tmp_path_factory.mktemp("sample")
    config = root / "pipeline.toml"
    config.write_text(
        f"""[run]
dir = "run"
[executor]
kind = "inprocess"
[sources]
write_removed = true
[sources.github]
inputs = ["{realdata / "github/github_files_sample.jsonl.gz"}"]
""",
        encoding="utf-8",
    )
    out = cli("data", "build", "-c", str(config))
    assert out.returncode == 0, out.stderr
    return config


def _sample(config: Path, *args: str) -> list[dict]:
    out = cli("data", "sample", *args, "-c", str(config), "--json")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.slow
def test_kept_and_removed_samples(github_run: Path) -> None:
    stage = github_run.parent / "run/ingest/github"
    kept_ids = {d.id for p in (stage / "shards").glob("*.parquet") for d in read_documents(p)}
    kept = _sample(github_run, "ingest/github", "-n", "4")
    assert len(kept) == 4 and {d["id"] for d in kept} <= kept_ids
    assert all(d["reason"] is None and d["text"] for d in kept)
    assert _sample(github_run, "ingest/github", "--kept", "-n", "4", "--seed", "0") == kept
    assert [d["id"] for d in _sample(github_run, "ingest/github", "-n", "4", "--seed", "1")] != [
        d["id"] for d in kept
    ]
    duplicates = _sample(github_run, "ingest/github", "--removed", "duplicate", "-n", "50")
    expected = sum(r[2] == "duplicate" for r in iter_removed(stage))
    assert len(duplicates) == expected == 10  # fewer than asked: all of them
    assert {(d["filter"], d["reason"]) for d in duplicates} == {("dedup", "duplicate")}
    # the source's final stage covers the removals of its sub-stages
    licensed = _sample(github_run, "ingest/github", "--removed", "license", "-n", "3")
    assert {d["stage"] for d in licensed} == {"ingest/github/candidates"}
    # a filter's name selects its removals too; the score is the one the cut compared
    (long,) = _sample(github_run, "ingest/github", "--removed", "max_line_length")
    assert long["score"] == long["meta"]["max_line_length"] > 1000
    readable = cli("data", "sample", "ingest/github/candidates", "--removed", "license", "-n", "2",
                   "--chars", "80", "-c", str(github_run))  # fmt: skip
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout.count("removed by license: license") == 2
    assert "more characters]" in readable.stdout


@pytest.mark.slow
def test_clear_errors(github_run: Path) -> None:
    def error(*args: str) -> str:
        out = cli("data", "sample", *args, "-c", str(github_run))
        assert out.returncode == 2 and out.stdout == "", (out.stdout, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        return out.stderr

    assert "unknown stage 'ingest/gitlab'" in error("ingest/gitlab")
    assert "ingest/github/candidates" in error("ingest/gitlab")
    assert "tokens/index is not built" in error("tokens/index")
    no_removed = error("ingest/github/dedup", "--removed", "duplicate")
    assert "no removed/ documents" in no_removed and "sources.github.write_removed" in no_removed
    unknown = error("ingest/github", "--removed", "too_long")
    # ingest/github stands for the source: its sub-stages' reasons are listed too
    assert "duplicate (10)" in unknown and "only_header" in unknown
    assert "extension (435)" in unknown


@pytest.mark.slow
def test_data_stats_shows_cpu_seconds_per_filter(github_run: Path) -> None:
    out = cli("data", "stats", "-c", str(github_run))
    assert out.returncode == 0, out.stderr
    table = out.stdout[out.stdout.index("CPU seconds per filter") :]
    for name in (
        "ingest/github/candidates",
        "code_stats",
        "license",
        "ingest/github",
        "only_header",
    ):
        assert name in table
