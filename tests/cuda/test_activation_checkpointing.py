"""Selective activation checkpointing on CUDA: same numbers as none, attention not recomputed."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from llamapipe.model.transformer import _SAVED_OPS
from tests.cuda.helpers import CUDA, SMALL, gradients, loss_of, small_model, token_batch

pytestmark = CUDA

_ATTENTION_OPS = {op for op in _SAVED_OPS if "attention" in str(op)}


class _CountAttention(TorchDispatchMode):
    """Counts the attention kernels that actually run (a selective-checkpoint replay served from
    saved outputs never reaches this mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in _ATTENTION_OPS:
            self.calls += 1
        return func(*args, **(kwargs or {}))


def test_selective_equals_no_checkpointing() -> None:
    plain = small_model()
    selective = copy.deepcopy(plain)
    selective.set_activation_checkpointing("selective")
    tokens = token_batch()
    losses = []
    for model in (plain, selective):
        loss = loss_of(model, tokens)
        loss.backward()
        losses.append(loss.item())
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    reference = gradients(plain)
    for name, grad in gradients(selective).items():
        torch.testing.assert_close(grad, reference[name], rtol=1e-4, atol=1e-6, msg=name)


def test_selective_saves_cuda_attention_and_less_memory() -> None:
    """bf16, as trained: each mode's attention kernel count over forward + backward and its peak
    memory. 'full' recomputes attention (the counter sees it); 'selective' must not."""
    tokens = token_batch(batch=8)
    calls, peaks = {}, {}
    for mode in ("none", "selective", "full"):
        model = small_model().to(torch.bfloat16)
        model.set_activation_checkpointing(mode)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        counter = _CountAttention()
        with counter:
            loss = loss_of(model, tokens)
            loss.backward()
        torch.cuda.synchronize()
        calls[mode] = counter.calls
        peaks[mode] = torch.cuda.max_memory_allocated() - base
        del model, loss
    layers = SMALL.n_layers
    assert calls == {"none": layers, "selective": layers, "full": 2 * layers}, calls
    assert peaks["selective"] < 0.9 * peaks["none"], peaks
    assert peaks["full"] < peaks["selective"], peaks
