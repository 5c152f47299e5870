"""RMSNorm and the SwiGLU feed-forward of a LLaMA block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor

from llamapipe.model.args import ModelArgs


class RMSNorm(nn.Module):
    """x / rms(x) * weight, no mean subtraction and no bias; normalised in float32."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)


class FeedForward(nn.Module):
    """w2(silu(w1 x) * w3 x): the SwiGLU MLP with hidden width ModelArgs.ffn_hidden_dim."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        hidden = args.ffn_hidden_dim
        self.w1 = nn.Linear(args.dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, args.dim, bias=False)
        self.w3 = nn.Linear(args.dim, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w1, w3 = self.w1.weight, self.w3.weight
        if isinstance(w1, DTensor):  # tensor parallel: row-sharded, keep two projections
            return self.w2(F.silu(self.w1(x)) * self.w3(x))
        # One matmul against [w1; w3] (rebuilt each call, so always the current weights; see
        # Attention._project) instead of two half-width ones.
        gate, up = F.linear(x, torch.cat((w1, w3))).chunk(2, dim=-1)
        return self.w2(F.silu(gate) * up)
