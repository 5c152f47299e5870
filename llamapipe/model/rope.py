"""Rotary position embeddings on interleaved pairs, with real cos/sin.

Meta's reference rotates the pairs (x[2i], x[2i+1]) with complex numbers. Complex tensors do not
compile and cannot be sharded by tensor parallelism, so the same rotation is written with real
cos/sin; the result is identical to the complex form.
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


def _rotate(x: torch.Tensor, cos2: torch.Tensor, sin2: torch.Tensor) -> torch.Tensor:
    """(e, o) -> (e cos - o sin, o cos + e sin) for every pair, as x cos2 + swap(x) sin2 with
    cos2 = (cos, cos) and sin2 = (-sin, sin) per pair: two strided copies build swap(x), then two
    contiguous (vectorised) passes; no stacked temporaries."""
    swapped = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    pairs, swapped_pairs = x.unflatten(-1, (-1, 2)), swapped.unflatten(-1, (-1, 2))
    swapped_pairs[..., 0].copy_(pairs[..., 1])
    swapped_pairs[..., 1].copy_(pairs[..., 0])
    return torch.mul(x, cos2).addcmul_(swapped, sin2)


class _Rope(torch.autograd.Function):
    """The rotation is orthogonal: its gradient is the rotation by the opposite angles, computed
    with the same passes instead of autograd's trace through slices and a stack."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, cos2: torch.Tensor, sin2: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(cos2, sin2)
        return _rotate(x, cos2, sin2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        cos2, sin2 = ctx.saved_tensors
        return _rotate(grad, cos2, -sin2), None, None


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [batch, seq, heads, head_dim] by the angles for its positions ([seq, head_dim/2]).

    Computed in float32 (as the reference does) and returned in x's dtype. x may be a strided
    view (e.g. the q and k columns of a fused qkv projection); the result is contiguous.
    """
    cos2 = cos.repeat_interleave(2, dim=-1)[None, :, None, :]
    sin2 = torch.stack((-sin, sin), dim=-1).flatten(-2)[None, :, None, :]
    if x.dtype == torch.float32:
        return _Rope.apply(x, cos2, sin2)
    return _Rope.apply(x.float(), cos2, sin2).type_as(x)
