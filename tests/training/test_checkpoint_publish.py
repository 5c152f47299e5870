"""An async checkpoint is published as soon as it is written: SIGKILL right after, then resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llamapipe.training import train
from llamapipe.training.checkpoint import list_checkpoints

from .helpers import metric_losses, tiny_config

pytestmark = pytest.mark.slow

EVERY = 10


def test_kill_right_after_an_async_save_resumes_from_it_loss_for_loss(
    token_run: Path, tmp_path: Path
) -> None:
    options = ["size=tiny", f"tokens_dir={token_run / 'tokens'}", "global_batch_tokens=512"]
    options += ["micro_batch_size=4", "max_steps=400", f"checkpoint_every={EVERY}"]
    options += ["display=none", "seed=11", "async_checkpoint=true"]
    run_dir = tmp_path / "killed"
    train_dir = run_dir / "train" / "tiny"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "llamapipe.training", str(run_dir), *options]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    published = train_dir / "checkpoints" / f"step_{EVERY:06d}"
    deadline = time.monotonic() + 300
    while not published.is_dir():
        assert process.poll() is None, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Published by the save itself, long before the next save (step 2 * EVERY) would have.
    steps_run = len(metric_losses(run_dir))
    assert steps_run < 2 * EVERY, steps_run
    assert [p.name for p in list_checkpoints(train_dir)] == [published.name]

    stop = EVERY + 3
    resume = subprocess.run([*command, f"steps={stop}"], env=env, capture_output=True)
    assert resume.returncode == 0, resume.stderr.decode()[-2000:]
    reference = train(
        tiny_config(token_run, max_steps=400, checkpoint_every=EVERY), tmp_path / "ref", steps=stop
    ).losses
    losses = metric_losses(run_dir)
    assert [losses[s] for s in range(1, stop + 1)] == reference
    assert not list((train_dir / "checkpoints").glob("*.tmp"))
