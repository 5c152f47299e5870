"""What a checkpoint holds (Stateful pieces in the DCP files), and that checkpoints in the older
layout (scheduler and loader in trainer_state.json, RNG in rng/rank_NNNNN.pt) still resume
exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

from llamapipe.training import train
from llamapipe.training.checkpoint import saved_keys
from llamapipe.training.init_from import is_weights_only

from .helpers import metric_losses, tiny_config

pytestmark = pytest.mark.slow


def _to_legacy_layout(checkpoint: Path, scratch: Path) -> None:
    """Rewrite `checkpoint` as the trainer wrote it before the pieces moved into DCP."""
    dcp_to_torch_save(checkpoint, scratch / "all.pt")
    everything = torch.load(scratch / "all.pt", weights_only=False)
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    state["scheduler"] = everything["scheduler"]
    state["loader"] = everything["loader"]
    keep = {"model_args.json"}
    for path in checkpoint.iterdir():
        if path.name not in keep:
            path.unlink()
    dcp.save({"model": everything["model"], "optim": everything["optim"]}, checkpoint_id=checkpoint)
    (checkpoint / "rng").mkdir()
    torch.save(everything["rng"]["rank_00000"], checkpoint / "rng" / "rank_00000.pt")
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))


def test_pieces_are_in_dcp_and_the_older_layout_resumes_bitwise(
    token_run: Path, tmp_path: Path
) -> None:
    cfg = tiny_config(token_run, checkpoint_every=6)
    whole = train(cfg, tmp_path / "whole").losses
    train(cfg, tmp_path / "split", steps=6)
    checkpoint = tmp_path / "split" / "train" / "tiny" / "checkpoints" / "step_000006"
    keys = saved_keys(checkpoint)
    for piece in ("model.layers.0.attention.wq.weight", "loader.samples_consumed"):
        assert piece in keys
    for prefix in ("optim.state.", "scheduler.", "rng.rank_00000."):
        assert any(key.startswith(prefix) for key in keys), prefix
    trainer_state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert trainer_state["step"] == 6 and "loader" not in trainer_state
    assert not is_weights_only(checkpoint)

    legacy_run = tmp_path / "legacy"
    shutil.copytree(tmp_path / "split", legacy_run)
    legacy = legacy_run / "train" / "tiny" / "checkpoints" / "step_000006"
    _to_legacy_layout(legacy, tmp_path)
    assert not any(key.startswith("loader.") for key in saved_keys(legacy))
    assert not is_weights_only(legacy)
    for run in (tmp_path / "split", legacy_run):
        assert train(cfg, run).losses == whole[6:], run.name
        assert metric_losses(run) == metric_losses(tmp_path / "whole")
