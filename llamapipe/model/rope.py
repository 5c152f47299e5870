"""Rotary position embeddings on interleaved pairs, with real cos/sin.

Meta's reference rotates the pairs (x[2i], x[2i+1]) with complex numbers. Complex tensors do not
compile and do not shard as DTensors, so the same rotation is written with real cos/sin; the result
is identical to the complex form.
"""

from __future__ import annotations

import torch


def rope_angles(
    head_dim: int, positions: torch.Tensor, theta: float = 10000.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of shape [len(positions), head_dim // 2], always in float32.

    Pair i turns at frequency theta^(-2i/head_dim); position p turns it by p times that.
    """
    exponents = torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32)
    inv_freq = 1.0 / (theta ** (exponents / head_dim))
    angles = torch.outer(positions.to(torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """(e, o) -> (e cos - o sin, e sin + o cos) for every pair, written straight into the output
    (four elementwise passes, no stacked temporaries)."""
    pairs = x.unflatten(-1, (-1, 2))
    even, odd = pairs[..., 0], pairs[..., 1]
    out = torch.empty(pairs.shape, dtype=x.dtype, device=x.device)
    out_even, out_odd = out[..., 0], out[..., 1]
    torch.mul(even, cos, out=out_even)
    out_even.addcmul_(odd, sin, value=-1.0)
    torch.mul(odd, cos, out=out_odd)
    out_odd.addcmul_(even, sin)
    return out.flatten(-2)


class _Rope(torch.autograd.Function):
    """The rotation is orthogonal: its gradient is the rotation by the opposite angles, computed
    with the same four passes instead of autograd's trace through slices and a stack."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(cos, sin)
        return _rotate(x, cos, sin)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        cos, sin = ctx.saved_tensors
        return _rotate(grad, cos, -sin), None, None


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [batch, seq, heads, head_dim] by the angles for its positions ([seq, head_dim/2]).

    Computed in float32 (as the reference does) and returned in x's dtype. x may be a strided
    view (e.g. the q and k columns of a fused qkv projection); the result is contiguous.
    """
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    if x.dtype == torch.float32:
        return _Rope.apply(x, cos, sin)
    return _Rope.apply(x.float(), cos, sin).type_as(x)
