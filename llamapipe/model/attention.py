"""Causal multi-head (and grouped-query) self-attention with interchangeable kernels.

All backends take q [batch, q_len, heads, head_dim] and k, v [batch, kv_len, kv_heads, head_dim]
where the queries are the last q_len of the kv_len positions, and return [batch, q_len, heads,
head_dim]. "sdpa" is PyTorch's fused kernel (the memory-efficient attention of the paper on any
device), "xformers" the paper's own kernel on CUDA, "naive" the textbook formula used as reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from llamapipe.model.args import ModelArgs
from llamapipe.model.kv_cache import KVCache
from llamapipe.model.rope import apply_rope

AttentionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _causal_mask(q_len: int, kv_len: int, device: torch.device) -> torch.Tensor:
    """True where query i (at absolute position kv_len - q_len + i) may see key j."""
    offset = kv_len - q_len
    rows = torch.arange(q_len, device=device)[:, None] + offset
    cols = torch.arange(kv_len, device=device)[None, :]
    return cols <= rows


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[b, s, kv_heads, d] -> [b, s, kv_heads * n_rep, d]; query head h reads kv head h // n_rep."""
    if n_rep == 1:
        return x
    return x.repeat_interleave(n_rep, dim=2)


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + causal mask) v, softmax in float32. The reference for tests."""
    n_rep = q.shape[2] // k.shape[2]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    q_, k_, v_ = (t.transpose(1, 2) for t in (q, k, v))
    scores = (q_ @ k_.transpose(-2, -1)).float() / math.sqrt(q.shape[-1])
    mask = _causal_mask(q.shape[1], k.shape[1], q.device)
    scores = scores.masked_fill(~mask, float("-inf"))
    probs = scores.softmax(dim=-1).type_as(q_)
    return (probs @ v_).transpose(1, 2)


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """PyTorch scaled_dot_product_attention: fused, never stores the attention matrix."""
    q_, k_, v_ = (t.transpose(1, 2) for t in (q, k, v))
    q_len, kv_len = q.shape[1], k.shape[1]
    gqa = q.shape[2] != k.shape[2]
    if q_len == kv_len:
        out = F.scaled_dot_product_attention(q_, k_, v_, is_causal=True, enable_gqa=gqa)
    elif q_len == 1:
        out = F.scaled_dot_product_attention(q_, k_, v_, enable_gqa=gqa)
    else:
        mask = _causal_mask(q_len, kv_len, q.device)
        out = F.scaled_dot_product_attention(q_, k_, v_, attn_mask=mask, enable_gqa=gqa)
    return out.transpose(1, 2)


def xformers_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """xformers memory_efficient_attention (CUDA only), imported on first use."""
    try:
        from xformers.ops import LowerTriangularMask, memory_efficient_attention
        from xformers.ops.fmha.attn_bias import LowerTriangularFromBottomRightMask
    except ImportError as exc:
        raise RuntimeError(
            "attention backend 'xformers' needs the xformers package (pip install xformers); "
            "use attention='sdpa' instead"
        ) from exc
    if q.device.type != "cuda":
        raise RuntimeError("attention backend 'xformers' runs on CUDA only; use attention='sdpa'")
    n_rep = q.shape[2] // k.shape[2]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    if q.shape[1] == k.shape[1]:
        bias = LowerTriangularMask()
    else:
        bias = LowerTriangularFromBottomRightMask()
    return memory_efficient_attention(q, k, v, attn_bias=bias)


ATTENTION_FUNCTIONS: dict[str, AttentionFn] = {
    "sdpa": sdpa_attention,
    "xformers": xformers_attention,
    "naive": naive_attention,
}


class Attention(nn.Module):
    """Self-attention of one block: wq/wk/wv/wo without biases, RoPE on q and k.

    Head counts are read from the tensors (`unflatten(-1, (-1, head_dim))`), so the same code
    runs on a slice of the heads (tensor parallelism, llamapipe/training/parallelize.py, gives
    each rank its own heads). `fused`: see _project.
    """

    def __init__(self, args: ModelArgs, layer_id: int) -> None:
        super().__init__()
        self.layer_id = layer_id
        self.head_dim = args.head_dim
        self.wq = nn.Linear(args.dim, args.n_heads * args.head_dim, bias=False)
        self.wk = nn.Linear(args.dim, args.kv_heads * args.head_dim, bias=False)
        self.wv = nn.Linear(args.dim, args.kv_heads * args.head_dim, bias=False)
        self.wo = nn.Linear(args.n_heads * args.head_dim, args.dim, bias=False)
        self.backend = args.attention
        self.fused = True

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start_pos: int = 0,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        batch, seq = x.shape[0], x.shape[1]
        q, k, v = self._project(x, cos, sin)
        if kv_cache is not None:
            k, v = kv_cache.update(self.layer_id, start_pos, k, v)
            k, v = k.to(q.dtype), v.to(q.dtype)
        out = ATTENTION_FUNCTIONS[self.backend](q, k, v)
        return self.wo(out.reshape(batch, seq, -1))

    def _project(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k (rotated) and v as [batch, seq, heads, head_dim].

        `fused` (the default): q, k and v come from one matmul against [wq; wk; wv] and q and k
        are rotated in one pass: fewer, larger kernels. The concatenation is rebuilt on every
        call (a copy of 3 dim^2 weights), so it always sees the current weights and autograd
        routes each slice of the gradient to its own parameter. FSDP2 hands the block plain,
        unsharded weights inside its forward, so this holds under FSDP too. Not fused: three
        separate projections, for weights split by rows into shards that cannot be concatenated
        (tensor parallelism turns `fused` off).
        """
        if not self.fused:
            q = self.wq(x).unflatten(-1, (-1, self.head_dim))
            k = self.wk(x).unflatten(-1, (-1, self.head_dim))
            v = self.wv(x).unflatten(-1, (-1, self.head_dim))
            return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v
        wq, wk, wv = self.wq.weight, self.wk.weight, self.wv.weight
        qkv = F.linear(x, torch.cat((wq, wk, wv)))
        # split (not slicing): its backward is one concatenation of the two gradients, where
        # each slice's backward would zero-fill a whole [batch, seq, 3 dim] gradient.
        qk, v = qkv.split((wq.shape[0] + wk.shape[0], wv.shape[0]), dim=-1)
        qk = apply_rope(qk.unflatten(-1, (-1, self.head_dim)), cos, sin)
        q, k = qk.split((wq.shape[0] // self.head_dim, wk.shape[0] // self.head_dim), dim=2)
        return q, k, v.unflatten(-1, (-1, self.head_dim))
