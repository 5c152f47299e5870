"""`llamapipe run` on the bundled sample, end to end, twice: the second run does nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OVERRIDES = [
    "train.size='tiny'",
    "train.max_steps=6",
    "train.checkpoint_every=3",
    "train.display='none'",
    "tokenizer.vocab_size=1000",
    "mix.total_tokens=20000",
    "eval.perplexity_max_tokens=2000",
    "executor.kind='inprocess'",
]


def run(repo_root: Path, run_dir: Path, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "llamapipe", "run", "-c", str(repo_root / "pipeline.toml")]
    for item in [f"run.dir='{run_dir}'", *OVERRIDES]:
        args += ["--set", item]
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)


def snapshot(run_dir: Path) -> dict[str, int]:
    return {
        str(p.relative_to(run_dir)): p.stat().st_mtime_ns
        for p in run_dir.rglob("*")
        # the lock file records each command's holder; it is not an artifact
        if p.is_file() and p.name not in ("report.txt", ".llamapipe.lock")
    }


@pytest.mark.slow
def test_run_builds_everything_then_does_nothing(repo_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    tmpdir = tmp_path / "tmpdir"  # every stage's scratch space is in the run dir, not here
    tmpdir.mkdir()
    first = run(repo_root, run_dir, tmpdir)
    assert first.returncode == 0, first.stderr[-3000:]
    report = (run_dir / "report.txt").read_text(encoding="utf-8")
    for section in ("Stages", "data stats", "Training", "Held-out perplexity", "Multiple choice"):
        assert section in report
    assert (run_dir / "train/tiny/loss.png").stat().st_size > 1000
    assert (run_dir / "export/hf/model.safetensors").exists()
    before = snapshot(run_dir)

    second = run(repo_root, run_dir, tmpdir)
    assert second.returncode == 0, second.stderr[-3000:]
    assert snapshot(run_dir) == before  # nothing rewritten: stages, checkpoints, eval, export
    assert second.stderr.count("nothing to do") >= 20
    assert (run_dir / "report.txt").read_text(encoding="utf-8") == report
    assert list(tmpdir.iterdir()) == []
    assert not [p for p in run_dir.rglob("*") if p.name == ".tmp" or p.suffix == ".tmp"]

    # `status` from another folder (relative inputs resolve against pipeline.toml's folder)
    status = [sys.executable, "-m", "llamapipe", "status", "-c", str(repo_root / "pipeline.toml")]
    for item in [f"run.dir='{run_dir}'", *OVERRIDES]:
        status += ["--set", item]
    shown = subprocess.run(status, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr[-3000:]
    rows = [line for line in shown.stdout.splitlines() if "/" in line and "│" in line]
    assert rows and not [r for r in rows if "stale" in r or "missing" in r or "partial" in r]
