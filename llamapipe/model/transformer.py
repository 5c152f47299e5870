"""The LLaMA decoder: pre-norm blocks of attention and SwiGLU, untied output projection."""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from llamapipe.model.args import ModelArgs
from llamapipe.model.attention import Attention
from llamapipe.model.kv_cache import KVCache
from llamapipe.model.layers import FeedForward, RMSNorm
from llamapipe.model.loss import IGNORE_INDEX, chunked_linear_cross_entropy
from llamapipe.model.rope import rope_angles


class TransformerBlock(nn.Module):
    """x + attention(norm(x)), then + feed_forward(norm(...)).

    Plain torch: activation checkpointing is applied from outside by
    llamapipe/training/activation_checkpointing.py, which keeps the parameter names Meta's.
    """

    def __init__(self, layer_id: int, args: ModelArgs) -> None:
        super().__init__()
        self.layer_id = layer_id
        self.attention = Attention(args, layer_id)
        self.feed_forward = FeedForward(args)
        self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start_pos: int = 0,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        h = x + self.attention(self.attention_norm(x), cos, sin, start_pos, kv_cache)
        return h + self.feed_forward(self.ffn_norm(h))


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
        #: The output projection fused with the loss (loss.py); False: logits, then
        #: cross_entropy (for an output split over the vocabulary, see set_fused_kernels).
        self.fused_loss = True
        if self.tok_embeddings.weight.device.type != "meta":
            self.init_weights()

    def set_fused_kernels(self, enabled: bool) -> None:
        """Turn on (the default) or off every fused kernel: the [wq; wk; wv] and [w1; w3]
        matmuls, RMSNorm's hand-written backward and the chunked output + loss.

        Off, each is the same formula in plain autograd ops on separate weights: the form that
        tensor parallelism can shard (llamapipe/training/parallelize.py turns them off there).
        """
        for module in self.modules():
            if isinstance(module, (Attention, FeedForward, RMSNorm)):
                module.fused = enabled
        self.fused_loss = enabled

    def set_activation_checkpointing(self, mode: str) -> None:
        """Deprecated: use llamapipe.training.activation_checkpointing.
        apply_activation_checkpointing (which parallelize calls); kept for bare-model callers."""
        warnings.warn(
            "Transformer.set_activation_checkpointing is deprecated; use "
            "llamapipe.training.activation_checkpointing.apply_activation_checkpointing",
            DeprecationWarning,
            stacklevel=2,
        )
        from llamapipe.training.activation_checkpointing import apply_activation_checkpointing

        apply_activation_checkpointing(self, mode)

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
        mean next-token cross-entropy, without materialising all logits at once (see loss.py), or
        with `fused_loss` False from the whole logits (float32) by F.cross_entropy.
        """
        h = self._hidden(tokens, start_pos, kv_cache)
        if targets is None:
            return self.output(h)
        if not self.fused_loss:
            logits = self.output(h).flatten(0, 1).float()
            return F.cross_entropy(logits, targets.flatten(), ignore_index=IGNORE_INDEX)
        return chunked_linear_cross_entropy(
            h.flatten(0, 1), self.output.weight, targets.flatten(), self.loss_chunk_size
        )


def build_transformer(args: ModelArgs, device: torch.device | str = "cpu") -> Transformer:
    """A Transformer on `device`; on "meta" only shapes exist (planning, sharded init)."""
    with torch.device(device):
        return Transformer(args)


def __getattr__(name: str):
    # `_SAVED_OPS` lived here while checkpointing was part of the block (tests/cuda reads it).
    if name == "_SAVED_OPS":
        from llamapipe.training.activation_checkpointing import SAVED_OPS

        return SAVED_OPS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Transformer", "TransformerBlock", "build_transformer"]
