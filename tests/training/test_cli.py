"""`llamapipe train` through its typer command: config + --set, --steps, resume, nothing left."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from typer.testing import CliRunner

from llamapipe.cli.train import train_command


def test_train_command_trains_stops_resumes_and_finishes(token_run: Path, tmp_path: Path) -> None:
    shutil.copytree(token_run / "tokens", tmp_path / "tokens")
    config = tmp_path / "pipeline.toml"
    config.write_text(
        '[run]\ndir = "."\n[train]\nsize = "tiny"\nmax_steps = 3\ndisplay = "none"\n'
        "global_batch_tokens = 512\nseed = 5\n"
    )
    app = typer.Typer()
    app.command()(train_command)
    runner = CliRunner()
    common = ["-c", str(config), "--set", "train.micro_batch_size=4"]

    first = runner.invoke(app, [*common, "--steps", "2"])
    assert first.exit_code == 0, first.output
    assert "steps 1-2 of 3" in first.output
    second = runner.invoke(app, common)
    assert second.exit_code == 0, second.output
    assert "steps 3-3 of 3" in second.output
    third = runner.invoke(app, common)
    assert "already at step 3 of 3" in third.output
    checkpoints = sorted(p.name for p in (tmp_path / "train/tiny/checkpoints").iterdir())
    assert checkpoints == ["step_000002", "step_000003"]
