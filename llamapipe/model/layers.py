"""RMSNorm and the SwiGLU feed-forward of a LLaMA block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from llamapipe.model.args import ModelArgs


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """The RMSNorm formula in plain autograd ops (the reference the fused kernel must match)."""
    x32 = x.float()
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return normed.type_as(x) * weight


class RMSNorm(nn.Module):
    """x / rms(x) * weight, no mean subtraction and no bias; normalised in float32.

    `fused` (the default) runs the formula through _RMSNormFunction's hand-written backward;
    False runs it as plain autograd ops, which also work on tensor subclasses that a custom
    autograd Function does not handle (the sequence-parallel shards that
    llamapipe/training/parallelize.py makes turn it off).
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.fused = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            return rms_norm(x, self.weight, self.eps)
        return _RMSNormFunction.apply(x, self.weight, self.eps)

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)


class FeedForward(nn.Module):
    """w2(silu(w1 x) * w3 x): the SwiGLU MLP with hidden width ModelArgs.ffn_hidden_dim.

    `fused` (the default) makes one matmul against [w1; w3] (rebuilt each call, so always the
    current weights; see Attention._project) instead of two half-width ones. False keeps the
    two projections apart: w1 and w3 may then be split into shards that cannot be concatenated
    (tensor parallelism, llamapipe/training/parallelize.py).
    """

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        hidden = args.ffn_hidden_dim
        self.w1 = nn.Linear(args.dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, args.dim, bias=False)
        self.w3 = nn.Linear(args.dim, hidden, bias=False)
        self.fused = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            return self.w2(F.silu(self.w1(x)) * self.w3(x))
        fused = F.linear(x, torch.cat((self.w1.weight, self.w3.weight)))
        return self.w2(_SwiGLUFunction.apply(fused))


class _RMSNormFunction(torch.autograd.Function):
    """RMSNorm with a hand-written backward: the same float32 forward as the module's formula,
    and a float32 backward of seven elementwise passes where autograd's trace through pow, mean,
    rsqrt and two products takes about eleven.

    With n = x r, r = 1 / rms(x), y = n w:  dw = sum(dy n),  dx = r (g - n mean(g n)), g = dy w.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:  # type: ignore[override]
        x32 = x.float()
        rstd = torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
        normed = (x32 * rstd).type_as(x)
        # float32: keep n itself; lower precision: keep x and rebuild n in float32 in backward
        # (the rounded n would lose precision in the gradient).
        ctx.save_for_backward(normed if x.dtype == torch.float32 else x, weight, rstd)
        ctx.x_dtype = x.dtype
        return normed * weight

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        saved, weight, rstd = ctx.saved_tensors
        n32 = saved if saved.dtype == torch.float32 else saved.float() * rstd
        grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = (grad * n32).flatten(0, -2).sum(0).to(weight.dtype)
        grad_x = None
        if ctx.needs_input_grad[0]:
            g = (grad * weight).float()
            dot = (g * n32).mean(-1, keepdim=True)
            grad_x = torch.addcmul(g, n32, dot, value=-1.0).mul_(rstd).to(ctx.x_dtype)
        return grad_x, grad_weight, None


class _SwiGLUFunction(torch.autograd.Function):
    """silu(gate) * up, where gate and up are the two halves of the last dimension of the fused
    [w1; w3] projection. Its backward writes both halves of the gradient straight into one
    buffer, where autograd would build them apart and then concatenate them.
    """

    @staticmethod
    def forward(ctx, fused: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        gate, up = fused.chunk(2, dim=-1)
        activated = F.silu(gate)
        ctx.save_for_backward(fused, activated)
        return activated * up

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        fused, activated = ctx.saved_tensors
        gate, up = fused.chunk(2, dim=-1)
        if torch.compiler.is_compiling():
            # torch.compile cannot trace `out=` into a strided half (a graph break that left
            # the whole function uneager, found by bench/gpu_check.py's compile counters); the
            # same formula without it, whose concatenation inductor fuses into one kernel.
            grad_gate = torch.ops.aten.silu_backward(grad * up, gate)
            return torch.cat((grad_gate, grad * activated), dim=-1)
        grad_fused = torch.empty_like(fused)
        grad_gate, grad_up = grad_fused.chunk(2, dim=-1)
        torch.mul(grad, activated, out=grad_up)
        torch.mul(grad, up, out=grad_gate)
        torch.ops.aten.silu_backward(grad_gate, gate, grad_input=grad_gate)
        return grad_fused
