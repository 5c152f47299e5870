"""torch.compile of the blocks (inductor on CUDA) computes what eager mode computes."""

from __future__ import annotations

import copy

import pytest
import torch

from llamapipe.training.parallelize import apply_compile, parallelize
from tests.cuda.helpers import CUDA, gradients, loss_of, rel_err, small_model, token_batch

pytestmark = CUDA


def _train(model: torch.nn.Module, steps: int) -> list[float]:
    model.zero_grad(set_to_none=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    losses = []
    for step in range(steps):
        loss = loss_of(model, token_batch(seed=step))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


def test_compiled_blocks_equal_eager_fp32() -> None:
    eager = small_model()
    compiled = copy.deepcopy(eager)
    apply_compile(compiled)
    tokens = token_batch()
    for model in (eager, compiled):
        loss_of(model, tokens).backward()
    reference = gradients(eager)
    for name, grad in gradients(compiled).items():
        assert rel_err(grad, reference[name]) < 1e-4, name
    assert _train(compiled, 3) == pytest.approx(_train(eager, 3), rel=1e-4)


def test_trainer_gpu_setting_compiled_equals_eager(dist_ctx) -> None:
    """The trainer's GPU configuration (bf16 FSDP2, selective AC), compiled or not."""
    eager = small_model()
    compiled = copy.deepcopy(eager)
    parallelize(eager, dist_ctx.mesh, "selective", False, torch.bfloat16)
    parallelize(compiled, dist_ctx.mesh, "selective", True, torch.bfloat16)
    eager_losses, compiled_losses = _train(eager, 3), _train(compiled, 3)
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-2)
    assert compiled_losses[2] < compiled_losses[0]
