"""SDPA on CUDA: the flash kernel the model runs on equals the textbook attention."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from llamapipe.model.attention import naive_attention, sdpa_attention
from tests.cuda.helpers import CUDA, SMALL, loss_of, rel_err, small_model, token_batch

pytestmark = CUDA


def _qkv(q_len: int, kv_len: int, heads: int, kv_heads: int, dtype: torch.dtype):
    generator = torch.Generator(device="cuda").manual_seed(q_len * 7 + kv_heads)
    shapes = ((2, q_len, heads, 64), (2, kv_len, kv_heads, 64), (2, kv_len, kv_heads, 64))
    return [
        torch.randn(s, device="cuda", generator=generator).to(dtype).requires_grad_()
        for s in shapes
    ]


def _reference(q, k, v):
    """naive_attention in float64 on float64 copies: the exact function."""
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    return naive_attention(q64, k64, v64), (q64, k64, v64)


def test_flash_attention_matches_naive_forward_and_backward() -> None:
    q, k, v = _qkv(512, 512, 8, 8, torch.bfloat16)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):  # raises if flash cannot take these inputs
        out = sdpa_attention(q, k, v)
    ref, leaves = _reference(q, k, v)
    assert out.dtype == torch.bfloat16
    assert rel_err(out, ref) < 1e-2
    grad = torch.randn_like(ref)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        out.backward(grad.to(out.dtype))
    ref.backward(grad)
    for mine, exact in zip((q, k, v), leaves, strict=True):
        assert rel_err(mine.grad, exact.grad) < 2e-2


@pytest.mark.parametrize(
    ("q_len", "kv_len", "kv_heads"),
    [(384, 384, 2), (64, 384, 8), (1, 384, 8)],
    ids=["gqa", "chunk-after-cache", "one-token-decode"],
)
def test_sdpa_cuda_paths_match_naive(q_len: int, kv_len: int, kv_heads: int) -> None:
    """The masked (prefill after a cache), single-query and grouped-query calls."""
    q, k, v = _qkv(q_len, kv_len, 8, kv_heads, torch.bfloat16)
    ref, _ = _reference(q, k, v)
    assert rel_err(sdpa_attention(q, k, v), ref) < 1e-2


def test_model_trains_on_the_flash_kernel_and_matches_naive_backend() -> None:
    """Forward + backward of the whole bf16 model with only the flash kernel allowed (any
    attention call it cannot serve raises), against the same weights with naive attention."""
    model = small_model().to(torch.bfloat16)
    naive = small_model(args=replace(SMALL, attention="naive")).to(torch.bfloat16)
    pairs = zip(model.parameters(), naive.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    tokens = token_batch()
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        loss = loss_of(model, tokens)
        loss.backward()
    naive_loss = loss_of(naive, tokens)
    assert loss.item() == pytest.approx(naive_loss.item(), rel=1e-2)
