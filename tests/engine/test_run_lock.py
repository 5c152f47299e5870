"""One command at a time per run dir: two real `llamapipe data build` processes on one run dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from llamapipe.runlock import LOCK_FILE, read_holder
from tests.engine.conftest import cli, write_config


def start(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "llamapipe", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def wait_until_holder(run_dir: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until `process` has taken the run dir's lock (its pid is in the lock file)."""
    deadline = time.monotonic() + timeout
    while read_holder(run_dir).get("pid") != process.pid:
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the first command never took the lock"
        time.sleep(0.01)


def test_second_build_fails_fast_naming_the_holder_then_waits(
    tmp_path: Path, c4_parts: Path
) -> None:
    cfg = write_config(tmp_path, c4_parts)
    run_dir = tmp_path / "run"
    first = start("data", "build", "-c", str(cfg))
    try:
        wait_until_holder(run_dir, first)
        # Frozen while it holds the lock, the first build cannot finish before the second starts.
        os.kill(first.pid, signal.SIGSTOP)

        started = time.monotonic()
        second = cli("data", "build", "-c", str(cfg))
        assert second.returncode == 3
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"in use by pid {first.pid}" in lines[0] and "llamapipe data build" in lines[0]
        assert "--wait" in lines[0]
        assert time.monotonic() - started < 30  # at once: no waiting, no work
        # Read-only commands do not take the lock.
        assert cli("status", "-c", str(cfg)).returncode == 0
        assert cli("data", "stats", "-c", str(cfg)).returncode == 0

        waiting = start("data", "build", "-c", str(cfg), "--wait")
        assert waiting.stderr is not None
        # Its first line says whom it waits for (then it blocks until the first is done).
        assert "waiting for it to finish" in waiting.stderr.readline()
        assert waiting.poll() is None
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    out, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err[-2000:]
    # It ran after the first had finished: everything was complete.
    assert "complete, nothing to do" in err
    stage = run_dir / "ingest" / "c4"
    assert len(list((stage / "_done").glob("*.json"))) == 8
    assert cli("status", "-c", str(cfg)).stdout.count("complete") >= 1
    # Released: the lock file stays, empty, and nothing temporary is left.
    assert (run_dir / LOCK_FILE).read_text() == ""
    assert not [p for p in run_dir.rglob("*") if p.name == ".tmp" or ".tmp" in p.suffixes]


def test_killed_build_leaves_nothing_behind_after_the_rerun(tmp_path: Path, c4_parts: Path) -> None:
    """A build killed inside a shard leaves its temp folder; the next build holding the lock
    removes it first, even when it then refuses to run, and nothing goes to $TMPDIR."""
    cfg = write_config(tmp_path, c4_parts)
    own_tmp = tmp_path / "tmpdir"
    own_tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(own_tmp), LLAMAPIPE_FAULT_KILL="ingest/c4:3:before_commit")
    killed = cli("data", "build", "-c", str(cfg), env=env)
    assert killed.returncode == -signal.SIGKILL
    stage = tmp_path / "run" / "ingest" / "c4"
    assert list((stage / ".tmp").iterdir())  # the killed shard's folder
    env.pop("LLAMAPIPE_FAULT_KILL")
    changed = ["--set", "sources.c4.files_per_shard=2"]
    refused = cli("data", "build", "-c", str(cfg), *changed, env=env)  # stale: not rebuilt
    assert refused.returncode == 1 and "stale" in refused.stderr
    assert not (stage / ".tmp").exists()
    again = cli("data", "build", "-c", str(cfg), env=env)
    assert again.returncode == 0, again.stderr
    leftovers = [p for p in tmp_path.rglob("*") if p.name == ".tmp" or ".tmp" in p.name]
    assert leftovers == []
    assert list(own_tmp.iterdir()) == []
