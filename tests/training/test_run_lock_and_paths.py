"""`llamapipe train` as real processes: one trainer per run dir, tokens_dir relative to the
config whatever the current folder, and bad arguments as one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llamapipe.runlock import read_holder

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def write_config(tmp_path: Path, token_run: Path) -> Path:
    """conf/pipeline.toml with tokens_dir = "../tokens" and the default run dir runs/<name>."""
    (tmp_path / "tokens").symlink_to(token_run / "tokens")
    config = tmp_path / "conf" / "pipeline.toml"
    config.parent.mkdir()
    config.write_text(
        '[run]\nname = "locked"\n[train]\nsize = "tiny"\ntokens_dir = "../tokens"\n'
        'max_steps = 6\ncheckpoint_every = 3\ndisplay = "none"\nglobal_batch_tokens = 512\n'
        "micro_batch_size = 4\nseed = 5\n",
        encoding="utf-8",
    )
    return config


def llamapipe(*args: str) -> list[str]:
    return [sys.executable, "-m", "llamapipe", *args]


def test_second_trainer_fails_fast_or_waits_and_metrics_never_interleave(
    token_run: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, token_run)
    run_dir = config.parent / "runs" / "locked"
    # From "/": tokens_dir = "../tokens" must mean next to pipeline.toml, not the cwd.
    first = subprocess.Popen(
        llamapipe("train", "-c", str(config)), cwd="/", env=ENV, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while read_holder(run_dir).get("pid") != first.pid:
            assert first.poll() is None, first.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGSTOP)
        second = subprocess.run(
            llamapipe("train", "-c", str(config)), env=ENV, capture_output=True, text=True
        )
        assert second.returncode == 3
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pid {first.pid}" in lines[0], second.stderr
        assert "llamapipe train" in lines[0]
        waiting = subprocess.Popen(
            llamapipe("train", "-c", str(config), "--wait"),
            env=ENV,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiting.stderr is not None
        assert "waiting for it to finish" in waiting.stderr.readline()
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert first.wait(timeout=600) == 0, first.communicate()[1][-2000:]
    _, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err[-2000:]
    assert "already at step 6 of 6" in err  # it ran after the first, which had finished
    records = [json.loads(line) for line in (run_dir / "train/tiny/metrics.jsonl").open()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]


def test_tensor_parallel_degree_that_does_not_divide_is_one_line(
    token_run: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, token_run)
    result = subprocess.run(
        llamapipe("train", "-c", str(config), "--tp", "3"), env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "train.tp = 3" in lines[0], result.stderr
