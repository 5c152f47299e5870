"""Output projection fused with cross-entropy, computed in chunks of tokens.

The output projection and the loss over a 32k vocabulary are about half of a training step on
CPU. Materialising [tokens, vocab] logits, upcasting them, taking log-softmax and back-propagating
through each of those passes memory several times. Here the logits of a chunk of tokens are made,
turned into the loss and into the gradient (softmax - one-hot) at once, and thrown away: the
gradients of the hidden states and of the output matrix are accumulated during the forward pass,
so backward only rescales them. Memory falls from O(tokens x vocab) to O(chunk x vocab).
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        targets: torch.Tensor,
        chunk_size: int,
        compute_dtype: torch.dtype,
    ) -> torch.Tensor:
        need_hidden_grad, need_weight_grad = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        weight_c = weight.to(compute_dtype)
        valid = targets != IGNORE_INDEX
        count = valid.sum().clamp(min=1).to(torch.float32)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if need_hidden_grad else None
        grad_weight = (
            torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
            if need_weight_grad
            else None
        )
        for start in range(0, hidden.shape[0], chunk_size):
            h = hidden[start : start + chunk_size].to(compute_dtype)
            t = targets[start : start + chunk_size]
            ok = valid[start : start + chunk_size]
            logits = (h @ weight_c.t()).float()
            lse = torch.logsumexp(logits, dim=-1)
            safe_t = t.clamp(min=0)
            target_logit = logits.gather(1, safe_t[:, None]).squeeze(1)
            total += ((lse - target_logit) * ok).sum()
            if need_hidden_grad or need_weight_grad:
                # d loss / d logits = (softmax - onehot) / count, zero for ignored tokens
                grad_logits = logits.sub_(lse[:, None]).exp_()
                grad_logits.scatter_add_(1, safe_t[:, None], -torch.ones_like(lse)[:, None])
                grad_logits.mul_((ok.to(torch.float32) / count)[:, None])
                g = grad_logits.to(compute_dtype)
                if grad_hidden is not None:
                    grad_hidden[start : start + chunk_size] = (g @ weight_c).to(hidden.dtype)
                if grad_weight is not None:
                    grad_weight += (g.t() @ h).float()
        ctx.save_for_backward(
            grad_hidden if grad_hidden is not None else torch.empty(0),
            grad_weight.to(weight.dtype) if grad_weight is not None else torch.empty(0),
        )
        return total / count

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        grad_hidden, grad_weight = ctx.saved_tensors
        gh = grad_hidden * grad_output if ctx.needs_input_grad[0] else None
        gw = grad_weight * grad_output if ctx.needs_input_grad[1] else None
        return gh, gw, None, None, None


def chunked_linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    chunk_size: int = 2048,
) -> torch.Tensor:
    """Mean cross-entropy of softmax(hidden @ weight.T) against targets (IGNORE_INDEX skipped).

    hidden [tokens, dim], weight [vocab, dim], targets [tokens]. Under autocast the matmuls run in
    the autocast dtype and the softmax in float32, as a plain linear + cross_entropy would.
    """
    if torch.is_autocast_enabled(hidden.device.type):
        compute_dtype = torch.get_autocast_dtype(hidden.device.type)
    else:
        compute_dtype = weight.dtype
    with torch.autocast(hidden.device.type, enabled=False):
        return _ChunkedLinearCrossEntropy.apply(hidden, weight, targets, chunk_size, compute_dtype)
