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


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [batch, seq, heads, head_dim] by the angles for its positions ([seq, head_dim/2]).

    Computed in float32 (as the reference does) and returned in x's dtype.
    """
    pairs = x.float().unflatten(-1, (-1, 2))
    even, odd = pairs[..., 0], pairs[..., 1]
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)
