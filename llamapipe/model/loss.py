"""Output projection fused with cross-entropy, computed in chunks of tokens.

The output projection and the loss over a 32k vocabulary are about half of a training step on
CPU. Materialising [tokens, vocab] logits, upcasting them, taking log-softmax and back-propagating
through each of those passes memory several times. Here the logits of a chunk of tokens are made,
turned into the loss and into the gradient (softmax - one-hot) at once, and thrown away: the
gradients of the hidden states and of the output matrix are accumulated during the forward pass,
so backward only rescales them. Memory falls from O(tokens x vocab) to O(chunk x vocab), and
a chunk of a few hundred tokens keeps its [chunk, vocab] block in cache between the softmax
and the two gradient matmuls.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


#: Low-precision weight-gradient products are summed over this many tokens before being added to
#: the float32 accumulator: one [vocab, dim] upcast and add per group instead of per chunk.
WEIGHT_GRAD_GROUP_TOKENS = 1024


class _WeightGradAccumulator:
    """grad_W = sum over chunks of g^T h, accumulated in float32.

    In float32 each chunk is added with one in-place addmm. In bf16 the chunks' gradients are
    written into a [group, vocab] buffer and multiplied once per group, because upcasting and
    adding a [vocab, dim] product for every small chunk costs more than the matmul itself.
    """

    def __init__(self, weight: torch.Tensor, hidden_c: torch.Tensor, chunk_size: int) -> None:
        self.grad = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
        self.hidden_c = hidden_c
        self.staged = hidden_c.dtype != torch.float32
        group = max(chunk_size, WEIGHT_GRAD_GROUP_TOKENS // chunk_size * chunk_size)
        group = min(group, hidden_c.shape[0])
        self.buffer = (
            torch.empty(group, weight.shape[0], dtype=hidden_c.dtype, device=weight.device)
            if self.staged
            else None
        )
        self.group_start = 0
        self.rows = 0

    def slot(self, start: int, grad_logits: torch.Tensor) -> torch.Tensor:
        """grad_logits in the compute dtype (in bf16: written into the staging buffer)."""
        if self.buffer is None:
            return grad_logits
        if self.rows + grad_logits.shape[0] > self.buffer.shape[0]:
            self.flush()
        if self.rows == 0:
            self.group_start = start
        g = self.buffer[self.rows : self.rows + grad_logits.shape[0]]
        g.copy_(grad_logits)
        self.rows += grad_logits.shape[0]
        return g

    def add(self, start: int, g: torch.Tensor) -> None:
        if self.buffer is None:
            self.grad.addmm_(g.t(), self.hidden_c[start : start + g.shape[0]])

    def flush(self) -> None:
        if self.buffer is None or self.rows == 0:
            return
        h = self.hidden_c[self.group_start : self.group_start + self.rows]
        self.grad += (self.buffer[: self.rows].t() @ h).float()
        self.rows = 0


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
        need_grad = need_hidden_grad or need_weight_grad
        weight_c = weight.to(compute_dtype)
        valid = targets != IGNORE_INDEX
        count = valid.sum().clamp(min=1).to(torch.float32)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if need_hidden_grad else None
        hidden_c = hidden.to(compute_dtype)
        grad_weight = (
            _WeightGradAccumulator(weight, hidden_c, chunk_size) if need_weight_grad else None
        )
        for start in range(0, hidden.shape[0], chunk_size):
            stop = start + chunk_size
            h = hidden_c[start:stop]
            t = targets[start:stop].clamp(min=0)[:, None]
            ok = valid[start:stop].to(torch.float32)
            logits = (h @ weight_c.t()).float()
            probs = torch.softmax(logits, dim=-1)  # one fused pass, chunk-sized: stays in cache
            target_prob = probs.gather(1, t).squeeze(1)
            token_loss = -torch.log(target_prob)
            underflow = target_prob < 1e-30
            if underflow.any():  # hopeless predictions: take log-sum-exp the slow, exact way
                rows = underflow.nonzero().squeeze(1)
                lse = torch.logsumexp(logits[rows], dim=-1)
                token_loss[rows] = lse - logits[rows].gather(1, t[rows]).squeeze(1)
            del logits
            total += (token_loss * ok).sum()
            if not need_grad:
                continue
            # d loss / d logits = (softmax - onehot) / count, zero for ignored tokens
            row_scale = (ok / count)[:, None]
            grad_logits = probs.mul_(row_scale)
            grad_logits.scatter_add_(1, t, -row_scale)
            if grad_weight is not None:
                g = grad_weight.slot(start, grad_logits)
            else:
                g = grad_logits.to(compute_dtype)
            if grad_hidden is not None:
                grad_hidden[start:stop] = (g @ weight_c).to(hidden.dtype)
            if grad_weight is not None:
                grad_weight.add(start, g)
        if grad_weight is not None:
            grad_weight.flush()
        ctx.save_for_backward(
            grad_hidden if grad_hidden is not None else torch.empty(0),
            grad_weight.grad.to(weight.dtype) if grad_weight is not None else torch.empty(0),
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
    chunk_size: int = 256,
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
