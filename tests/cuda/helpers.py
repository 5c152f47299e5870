"""Shared by the CUDA tests: the skip condition, a small model, comparisons."""

from __future__ import annotations

import pytest
import torch
from torch.distributed.tensor import DTensor

from llamapipe.model import ModelArgs, Transformer

HAS_CUDA = torch.cuda.is_available()

#: Every module here starts with `pytestmark = CUDA`: selected by `pytest -m cuda`, skipped with
#: this reason by CPU CI.
CUDA = [
    pytest.mark.cuda,
    pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device (torch.cuda.is_available() is False)"),
]

#: Small enough to compile in seconds, large enough for the fused kernels (head_dim 64).
SMALL = ModelArgs(dim=256, n_layers=2, n_heads=4, vocab_size=1024, multiple_of=64, max_seq_len=256)
BATCH, SEQ = 4, 256


def small_model(seed: int = 0, args: ModelArgs = SMALL) -> Transformer:
    """A float32 Transformer on the GPU, the same weights for the same seed."""
    torch.manual_seed(seed)
    with torch.device("cuda"):
        return Transformer(args)


def token_batch(seed: int = 1, batch: int = BATCH, seq: int = SEQ) -> torch.Tensor:
    """[batch, seq + 1] random token ids on the GPU (inputs and shifted targets)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, SMALL.vocab_size, (batch, seq + 1), generator=generator).cuda()


def loss_of(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    return model(tokens[:, :-1], targets=tokens[:, 1:])


def full(t: torch.Tensor) -> torch.Tensor:
    """The whole tensor, gathered if FSDP/TP sharded it, as float32."""
    if isinstance(t, DTensor):
        t = t.full_tensor()
    return t.detach().float()


def gradients(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: full(p.grad) for name, p in model.named_parameters()}


def rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    """||a - ref|| / ||ref|| in float64; a NaN fails every `rel_err(...) < tol` check."""
    a, ref = a.detach().double(), ref.detach().double()
    return float((a - ref).norm() / ref.norm())
