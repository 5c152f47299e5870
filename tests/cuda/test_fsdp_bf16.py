"""bf16 FSDP2 (the trainer's GPU setting) computes the fp32 model's loss and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from llamapipe.training.parallelize import parallelize
from tests.cuda.helpers import CUDA, full, gradients, loss_of, rel_err, small_model, token_batch

pytestmark = CUDA


def test_bf16_fsdp2_forward_backward_matches_fp32(dist_ctx) -> None:
    reference = small_model()
    sharded = copy.deepcopy(reference)
    parallelize(sharded, dist_ctx.mesh, "none", False, torch.bfloat16)
    seen_dtypes: list[torch.dtype] = []
    sharded.layers["0"].attention.wo.register_forward_hook(
        lambda module, inputs, output: seen_dtypes.extend((inputs[0].dtype, module.weight.dtype))
    )
    tokens = token_batch()

    ref_loss = loss_of(reference, tokens)
    ref_loss.backward()
    loss = loss_of(sharded, tokens)
    loss.backward()

    # FSDP gathered bf16 weights and the block computed in bf16 ...
    assert seen_dtypes == [torch.bfloat16, torch.bfloat16]
    # ... while the sharded master weights and their gradients stay fp32.
    assert all(p.dtype == torch.float32 for p in sharded.parameters())
    assert all(p.grad.dtype == torch.float32 for p in sharded.parameters())
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-2)
    ref_grads, grads = gradients(reference), gradients(sharded)
    assert ref_grads.keys() == grads.keys()
    errors = {name: rel_err(grads[name], ref_grads[name]) for name in ref_grads}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 5e-2, f"bf16 gradient of {worst} is off by {errors[worst]:.3g}"


def test_bf16_fsdp2_optimizer_step_tracks_fp32(dist_ctx) -> None:
    """Three AdamW steps: the bf16 run's losses stay within bf16 rounding of the fp32 run's."""
    reference = small_model()
    initial_wq = reference.layers["0"].attention.wq.weight.detach().clone()
    sharded = copy.deepcopy(reference)
    parallelize(sharded, dist_ctx.mesh, "none", False, torch.bfloat16)
    losses = {}
    for name, model in (("fp32", reference), ("bf16", sharded)):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
        losses[name] = []
        for step in range(3):
            loss = loss_of(model, token_batch(seed=step))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses[name].append(loss.item())
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=2e-2)
    assert losses["fp32"][2] < losses["fp32"][0]  # it trains
    # The optimizer updated the fp32 master shards (Adam's per-element updates amplify bf16
    # noise in near-zero gradients, so the weights themselves are not compared).
    wq = sharded.layers["0"].attention.wq.weight
    assert wq.dtype == torch.float32
    assert not torch.equal(full(wq), full(initial_wq))
