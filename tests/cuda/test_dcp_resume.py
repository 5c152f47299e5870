"""DCP checkpoints of a bf16 FSDP2 model in GPU memory: save, resume, equal loss for loss."""

from __future__ import annotations

from pathlib import Path

import torch

from llamapipe.model import build_transformer
from llamapipe.training.checkpoint import (
    CheckpointManager,
    load_model_for_inference,
    load_training_checkpoint,
)
from llamapipe.training.optim import build_optimizer
from llamapipe.training.parallelize import parallelize
from tests.cuda.helpers import CUDA, SMALL, full, loss_of, token_batch

pytestmark = CUDA


def _sharded_model(ctx, seed: int):
    """As the trainer builds it on GPU: shapes on meta, sharded, materialised, initialised."""
    torch.manual_seed(seed)
    model = build_transformer(SMALL, device="meta")
    parallelize(model, ctx.mesh, "selective", False, torch.bfloat16)
    model.to_empty(device=ctx.device)
    model.init_weights()
    return model, build_optimizer(model, lr=1e-3)


def _steps(model, optimizer, steps: range) -> list[float]:
    losses = []
    for step in steps:
        loss = loss_of(model, token_batch(seed=step))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


def test_resume_from_gpu_checkpoint_repeats_the_losses(dist_ctx, tmp_path: Path) -> None:
    model, optimizer = _sharded_model(dist_ctx, seed=0)
    _steps(model, optimizer, range(2))
    manager = CheckpointManager(tmp_path / "checkpoints", SMALL, keep=2, async_save=True)
    rng_at_save = torch.get_rng_state(), torch.cuda.get_rng_state()
    path = manager.save(2, model, optimizer, {"step": 2})
    manager.close()  # waits for the background write
    saved = {name: full(p).clone() for name, p in model.named_parameters()}
    # The first Adam moment of one sharded parameter, to compare after the reload.
    wq = model.layers["0"].attention.wq.weight
    saved_moment = full(optimizer.state[wq]["exp_avg"]).clone()
    uninterrupted = _steps(model, optimizer, range(2, 5))

    resumed_model, resumed_optimizer = _sharded_model(dist_ctx, seed=99)  # other weights
    state = load_training_checkpoint(path, resumed_model, resumed_optimizer)
    assert state["step"] == 2
    assert torch.equal(torch.get_rng_state(), rng_at_save[0])  # the RNG came back too
    assert torch.equal(torch.cuda.get_rng_state(), rng_at_save[1])
    for name, p in resumed_model.named_parameters():
        assert torch.equal(full(p), saved[name]), name
    resumed_wq = resumed_model.layers["0"].attention.wq.weight
    assert torch.equal(full(resumed_optimizer.state[resumed_wq]["exp_avg"]), saved_moment)
    assert resumed_wq.device.type == "cuda"
    resumed = _steps(resumed_model, resumed_optimizer, range(2, 5))
    assert resumed[0] == uninterrupted[0]  # same weights, same batch: the same forward
    for a, b in zip(resumed, uninterrupted, strict=True):
        assert abs(a - b) <= 1e-5 * abs(b), (resumed, uninterrupted)

    # The same checkpoint, resharded into one plain model for inference on the GPU.
    plain, args = load_model_for_inference(path, device="cuda")
    assert args == SMALL
    for name, p in plain.named_parameters():
        assert torch.equal(p.detach().float(), saved[name]), name
