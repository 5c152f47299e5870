"""Training in one process on real token shards: learning, checkpoints, exact resumption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from llamapipe.config.train import TrainConfig
from llamapipe.errors import ConfigError, StageError
from llamapipe.training import latest_checkpoint, load_model_for_inference, train
from llamapipe.training.checkpoint import list_checkpoints

from .helpers import metric_losses, tiny_config


def test_training_lowers_the_loss_and_writes_its_outputs(token_run: Path, tmp_path: Path) -> None:
    cfg = tiny_config(
        token_run, max_steps=25, checkpoint_every=10, keep_checkpoints=2, tensorboard=True
    )
    result = train(cfg, tmp_path)
    assert len(result.losses) == 25
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < first - 0.4, (first, last)
    train_dir = tmp_path / "train" / "tiny"
    # kept: the last two of steps 10, 20, 25
    assert [p.name for p in list_checkpoints(train_dir)] == ["step_000020", "step_000025"]
    assert latest_checkpoint(train_dir) == train_dir / "checkpoints" / "step_000025"
    manifest = json.loads((train_dir / "manifest.json").read_text())
    assert manifest["step"] == 25 and manifest["tokens"] == 25 * 8 * 64
    record = json.loads((train_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(record) >= {"loss", "lr", "grad_norm", "tokens_per_s", "mfu", "memory_gib"}
    assert 0 < record["mfu"] < 1 and record["grad_norm"] > 0
    assert list((train_dir / "tensorboard").glob("events.out.tfevents.*"))

    model, args = load_model_for_inference(latest_checkpoint(train_dir))
    assert args.vocab_size == 512 and args.dim == 64
    tokens = torch.tensor([[1, 50, 60, 70]])
    with torch.no_grad():
        assert model(tokens).shape == (1, 4, 512)


def test_stop_and_resume_equals_uninterrupted_bitwise(token_run: Path, tmp_path: Path) -> None:
    cfg = tiny_config(token_run, precision="bf16", activation_checkpointing="selective")
    whole = train(cfg, tmp_path / "whole").losses
    part1 = train(cfg, tmp_path / "split", steps=6).losses
    part2 = train(cfg, tmp_path / "split").losses
    assert part1 + part2 == whole
    assert metric_losses(tmp_path / "split") == metric_losses(tmp_path / "whole")


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted(token_run: Path, tmp_path: Path) -> None:
    options = ["size=tiny", f"tokens_dir={token_run / 'tokens'}", "global_batch_tokens=512"]
    options += ["micro_batch_size=4", "max_steps=400", "checkpoint_every=3", "display=none"]
    options += ["seed=11"]
    killed_dir = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "llamapipe.training", str(killed_dir), *options]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while latest_checkpoint(killed_dir / "train" / "tiny") is None:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # let it run on past the checkpoint, possibly into the next save
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed_from = latest_checkpoint(killed_dir / "train" / "tiny")
    assert resumed_from is not None
    stop = int(resumed_from.name.split("_")[1]) + 4
    resume = subprocess.run([*command, f"steps={stop}"], env=env, capture_output=True)
    assert resume.returncode == 0, resume.stderr.decode()[-2000:]
    cfg = tiny_config(token_run, max_steps=400, checkpoint_every=3)
    reference = train(cfg, tmp_path / "reference", steps=stop).losses
    losses = metric_losses(killed_dir)
    assert [losses[s] for s in range(1, stop + 1)] == reference
    assert not list((killed_dir / "train" / "tiny" / "checkpoints").glob("*.tmp"))


def test_unknown_size_is_a_clear_error(token_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown model size 'huge'"):
        train(tiny_config(token_run, size="huge"), tmp_path)


def test_missing_tokens_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="manifest.json"):
        train(TrainConfig(size="tiny"), tmp_path)
