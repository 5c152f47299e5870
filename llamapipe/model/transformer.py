"""The LLaMA decoder: pre-norm blocks of attention and SwiGLU, untied output projection."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor
from torch.utils.checkpoint import (
    CheckpointPolicy,
    checkpoint,
    create_selective_checkpoint_contexts,
)

from llamapipe.model.args import ModelArgs
from llamapipe.model.attention import Attention
from llamapipe.model.kv_cache import KVCache
from llamapipe.model.layers import FeedForward, RMSNorm
from llamapipe.model.loss import IGNORE_INDEX, chunked_linear_cross_entropy
from llamapipe.model.rope import rope_angles

ACTIVATION_CHECKPOINTING = ("none", "selective", "full")

# Ops whose outputs selective checkpointing keeps: the matmuls and the attention kernels (the
# expensive ones, paper section 2.4). Everything else in a block (norms, RoPE, SiLU, products) is
# recomputed during backward. The CPU attention op has its own name and must be listed too, or
# attention would be recomputed on CPU.
_SAVED_OPS = {
    torch.ops.aten.mm.default,
    torch.ops.aten.addmm.default,
    torch.ops.aten.bmm.default,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default,
    torch.ops.aten._scaled_dot_product_flash_attention.default,
    torch.ops.aten._scaled_dot_product_efficient_attention.default,
    torch.ops.aten._scaled_dot_product_cudnn_attention.default,
}


def _selective_policy(ctx, op, *args, **kwargs) -> CheckpointPolicy:
    return CheckpointPolicy.MUST_SAVE if op in _SAVED_OPS else CheckpointPolicy.PREFER_RECOMPUTE


def _selective_context():
    return create_selective_checkpoint_contexts(_selective_policy)


class TransformerBlock(nn.Module):
    """x + attention(norm(x)), then + feed_forward(norm(...)).

    `activation_checkpointing` ("none" | "selective" | "full") is applied inside forward so that
    parameter names stay exactly Meta's (a wrapper module would add a prefix to every name).
    """

    def __init__(self, layer_id: int, args: ModelArgs) -> None:
        super().__init__()
        self.layer_id = layer_id
        self.attention = Attention(args, layer_id)
        self.feed_forward = FeedForward(args)
        self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)
        self.activation_checkpointing = "none"

    def _block(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start_pos: int,
        kv_cache: KVCache | None,
    ) -> torch.Tensor:
        h = x + self.attention(self.attention_norm(x), cos, sin, start_pos, kv_cache)
        return h + self.feed_forward(self.ffn_norm(h))

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start_pos: int = 0,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        mode = self.activation_checkpointing
        if mode == "none" or kv_cache is not None or not torch.is_grad_enabled():
            return self._block(x, cos, sin, start_pos, kv_cache)
        if mode == "full":
            return checkpoint(self._block, x, cos, sin, start_pos, None, use_reentrant=False)
        return checkpoint(
            self._block,
            x,
            cos,
            sin,
            start_pos,
            None,
            use_reentrant=False,
            context_fn=_selective_context,
        )


class Transformer(nn.Module):
    """LLaMA: token embeddings, n_layers blocks, final RMSNorm, untied output projection."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.args = args
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.layers = nn.ModuleDict(
            {str(i): TransformerBlock(i, args) for i in range(args.n_layers)}
        )
        self.norm = RMSNorm(args.dim, eps=args.norm_eps)
        self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
        self.loss_chunk_size = 256
        if self.tok_embeddings.weight.device.type != "meta":
            self.init_weights()

    def set_activation_checkpointing(self, mode: str) -> None:
        if mode not in ACTIVATION_CHECKPOINTING:
            raise ValueError(
                f"activation checkpointing {mode!r}: choose one of {ACTIVATION_CHECKPOINTING}"
            )
        for block in self.layers.values():
            block.activation_checkpointing = mode

    @torch.no_grad()
    def init_weights(self) -> None:
        """Normal(0, 0.02) weights; the projections back into the residual stream (wo, w2) are
        scaled by 1/sqrt(2 * n_layers) so the residual's variance does not grow with depth.
        Meta does not publish its initialisation; this is the GPT-2 scheme most replications use.
        """
        std = 0.02
        residual_std = std / math.sqrt(2 * self.args.n_layers)
        nn.init.normal_(self.tok_embeddings.weight, std=std)
        for block in self.layers.values():
            for lin in (block.attention.wq, block.attention.wk, block.attention.wv):
                nn.init.normal_(lin.weight, std=std)
            nn.init.normal_(block.attention.wo.weight, std=residual_std)
            nn.init.normal_(block.feed_forward.w1.weight, std=std)
            nn.init.normal_(block.feed_forward.w3.weight, std=std)
            nn.init.normal_(block.feed_forward.w2.weight, std=residual_std)
            block.attention_norm.reset_parameters()
            block.ffn_norm.reset_parameters()
        self.norm.reset_parameters()
        nn.init.normal_(self.output.weight, std=std)

    def _hidden(
        self, tokens: torch.Tensor, start_pos: int, kv_cache: KVCache | None
    ) -> torch.Tensor:
        seq = tokens.shape[1]
        positions = torch.arange(start_pos, start_pos + seq, device=tokens.device)
        cos, sin = rope_angles(self.args.head_dim, positions, self.args.rope_theta)
        h = self.tok_embeddings(tokens)
        for block in self.layers.values():
            h = block(h, cos, sin, start_pos, kv_cache)
        return self.norm(h)

    def forward(
        self,
        tokens: torch.Tensor,
        start_pos: int = 0,
        kv_cache: KVCache | None = None,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits [batch, seq, vocab] for tokens [batch, seq] at positions start_pos...

        With `targets` [batch, seq] (IGNORE_INDEX = -100 to skip a position) returns instead the
        mean next-token cross-entropy, without materialising all logits at once (see loss.py).
        When tensor parallelism shards the output over the vocabulary the loss is taken on the
        sharded logits; the caller must then run forward and backward inside `loss_parallel()`.
        """
        h = self._hidden(tokens, start_pos, kv_cache)
        if targets is None:
            return self.output(h)
        if isinstance(self.output.weight, DTensor):
            logits = self.output(h)
            return F.cross_entropy(
                logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX
            )
        return chunked_linear_cross_entropy(
            h.flatten(0, 1), self.output.weight, targets.flatten(), self.loss_chunk_size
        )


def build_transformer(args: ModelArgs, device: torch.device | str = "cpu") -> Transformer:
    """A Transformer on `device`; on "meta" only shapes exist (planning, sharded init)."""
    with torch.device(device):
        return Transformer(args)


__all__ = ["Transformer", "TransformerBlock", "build_transformer"]
