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
    """sum over chunks of g^T h, accumulated in float32 (g unscaled: softmax - one-hot).

    In float32 the first chunk is written with one mm and the others added with in-place addmm
    (no zero-filled [vocab, dim] buffer). In bf16 the chunks' gradients are written into a
    [group, vocab] buffer and multiplied once per group, because upcasting and adding a
    [vocab, dim] product for every small chunk costs more than the matmul itself.
    """

    def __init__(self, weight: torch.Tensor, hidden_c: torch.Tensor, chunk_size: int) -> None:
        self.grad = torch.empty(weight.shape, dtype=torch.float32, device=weight.device)
        self.filled = False
        self.hidden_c = hidden_c
        self.staged = hidden_c.dtype != torch.float32
        group = max(chunk_size, WEIGHT_GRAD_GROUP_TOKENS // chunk_size * chunk_size)
        group = max(1, min(group, hidden_c.shape[0]))
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
            h = self.hidden_c[start : start + g.shape[0]]
            if self.filled:
                self.grad.addmm_(g.t(), h)
            else:
                torch.mm(g.t(), h, out=self.grad)
                self.filled = True

    def flush(self) -> None:
        if self.buffer is None or self.rows == 0:
            return
        h = self.hidden_c[self.group_start : self.group_start + self.rows]
        product = self.buffer[: self.rows].t() @ h
        if self.filled:
            self.grad += product.float()
        else:
            self.grad.copy_(product)
            self.filled = True
        self.rows = 0

    def result(self) -> torch.Tensor:
        self.flush()
        if not self.filled:
            self.grad.zero_()
        return self.grad


def _mm_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
    """out = a @ b, written in place when the dtypes allow (no temporary)."""
    if a.dtype == out.dtype:
        torch.mm(a, b, out=out)
    else:
        out.copy_(a @ b)


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
        tokens = hidden.shape[0]
        valid = targets != IGNORE_INDEX
        count = valid.sum().clamp(min=1).to(torch.float32)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if need_hidden_grad else None
        hidden_c = hidden.to(compute_dtype)
        grad_weight = None
        if need_weight_grad:
            # Ignored tokens contribute nothing to the output matrix's gradient: zero their rows
            # of h (exact, a multiplication by 0 or 1) instead of rows of the [chunk, vocab] block.
            hidden_w = hidden_c * valid[:, None].to(compute_dtype)
            grad_weight = _WeightGradAccumulator(weight, hidden_w, chunk_size)
        # One [chunk, vocab] float32 block reused by every chunk: the logits, then in place the
        # softmax, then the gradient. Reusing it avoids allocating (and on CPU page-faulting)
        # tens of MB per chunk.
        block_rows = max(1, min(chunk_size, tokens))
        block = torch.empty(block_rows, weight.shape[0], dtype=torch.float32, device=hidden.device)
        low_block = (
            torch.empty(block_rows, weight.shape[0], dtype=compute_dtype, device=hidden.device)
            if compute_dtype != torch.float32
            else None
        )
        for start in range(0, tokens, chunk_size):
            stop = min(start + chunk_size, tokens)
            h = hidden_c[start:stop]
            t = targets[start:stop].clamp(min=0)[:, None]
            ok = valid[start:stop].to(torch.float32)
            probs = block[: stop - start]
            if low_block is None:
                torch.mm(h, weight_c.t(), out=probs)
            else:
                torch.mm(h, weight_c.t(), out=low_block[: stop - start])
                probs.copy_(low_block[: stop - start])
            torch.softmax(probs, dim=-1, out=probs)  # one fused pass, in place
            target_prob = probs.gather(1, t)
            token_loss = -torch.log(target_prob.squeeze(1))
            underflow = target_prob.squeeze(1) < 1e-30
            if underflow.any():  # hopeless predictions: take log-sum-exp the slow, exact way
                rows = underflow.nonzero().squeeze(1)
                logits = (h[rows] @ weight_c.t()).float()
                lse = torch.logsumexp(logits, dim=-1)
                token_loss[rows] = lse - logits.gather(1, t[rows]).squeeze(1)
            total += (token_loss * ok).sum()
            if not need_grad:
                continue
            # d loss / d logits = (softmax - onehot) * ok / count. The [chunk, vocab] block keeps
            # softmax - onehot; the per-row factor is applied to the [chunk, dim] results instead
            # (ok / count to the hidden gradient here, 1 / count to the weight gradient in
            # backward), which saves a pass over the block.
            grad_logits = probs.scatter_(1, t, target_prob - 1.0)
            if grad_weight is not None:
                g = grad_weight.slot(start, grad_logits)
            else:
                g = grad_logits.to(compute_dtype)
            if grad_hidden is not None:
                gh = grad_hidden[start:stop]
                _mm_into(g, weight_c, gh)
                gh.mul_((ok / count)[:, None])
            if grad_weight is not None:
                grad_weight.add(start, g)
        ctx.save_for_backward(
            grad_hidden if grad_hidden is not None else torch.empty(0),
            grad_weight.result() if grad_weight is not None else torch.empty(0),
            count,
        )
        ctx.weight_dtype = weight.dtype
        return total / count

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        # The saved gradients are scaled in place: this graph is back-propagated once.
        grad_hidden, grad_weight, count = ctx.saved_tensors
        gh = grad_hidden.mul_(grad_output) if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            scale = grad_output / count
            if grad_weight.dtype == ctx.weight_dtype:
                gw = grad_weight.mul_(scale)
            else:
                gw = (grad_weight * scale).to(ctx.weight_dtype)
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
    The gradients are computed in the forward pass and scaled in place by backward, so the graph
    can be back-propagated once (a second backward with retain_graph=True raises autograd's
    "modified by an inplace operation" error rather than returning wrong gradients).
    """
    if torch.is_autocast_enabled(hidden.device.type):
        compute_dtype = torch.get_autocast_dtype(hidden.device.type)
    else:
        compute_dtype = weight.dtype
    with torch.autocast(hidden.device.type, enabled=False):
        return _ChunkedLinearCrossEntropy.apply(hidden, weight, targets, chunk_size, compute_dtype)
