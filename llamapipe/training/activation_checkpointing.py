"""Activation checkpointing of the Transformer's blocks, applied from outside the model.

"full" keeps only each block's input and recomputes the whole block during backward; "selective"
keeps the outputs of the matmuls and the attention kernels (the expensive ops, paper section 2.4)
and recomputes the rest (norms, RoPE, SiLU, products).

The block is not wrapped in another module (a wrapper would put a prefix in every parameter
name, and export, import-hf, DCP checkpoints and --init-from all rely on Meta's names): its
`forward` is replaced, on the instance, by a checkpointed call of the class's own forward. The
module tree, hence every name in named_parameters() and state_dict(), stays as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.checkpoint import (
    CheckpointPolicy,
    checkpoint,
    create_selective_checkpoint_contexts,
    noop_context_fn,
)

from llamapipe.model.kv_cache import KVCache
from llamapipe.model.transformer import Transformer

ACTIVATION_CHECKPOINTING = ("none", "selective", "full")

# The CPU attention op has its own name and must be listed too, or attention would be recomputed
# on CPU.
SAVED_OPS = {
    torch.ops.aten.mm.default,
    torch.ops.aten.addmm.default,
    torch.ops.aten.bmm.default,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default,
    torch.ops.aten._scaled_dot_product_flash_attention.default,
    torch.ops.aten._scaled_dot_product_efficient_attention.default,
    torch.ops.aten._scaled_dot_product_cudnn_attention.default,
}


def _selective_policy(ctx, op, *args, **kwargs) -> CheckpointPolicy:
    return CheckpointPolicy.MUST_SAVE if op in SAVED_OPS else CheckpointPolicy.PREFER_RECOMPUTE


def _selective_context():
    return create_selective_checkpoint_contexts(_selective_policy)


def _checkpointed_forward(
    block: nn.Module,
    context_fn: Callable,
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    start_pos: int = 0,
    kv_cache: KVCache | None = None,
) -> torch.Tensor:
    """The block's own forward under torch.utils.checkpoint (non-reentrant).

    Inference (a KV cache, or no autograd) has nothing to recompute and runs it directly.
    """
    plain = type(block).forward.__get__(block)
    if kv_cache is not None or not torch.is_grad_enabled():
        return plain(x, cos, sin, start_pos, kv_cache)
    return checkpoint(
        plain, x, cos, sin, start_pos, None, use_reentrant=False, context_fn=context_fn
    )


def apply_activation_checkpointing(model: Transformer, mode: str) -> None:
    """Checkpoint every block of `model` in `mode` ("none" undoes an earlier call)."""
    if mode not in ACTIVATION_CHECKPOINTING:
        raise ValueError(
            f"activation checkpointing {mode!r}: choose one of {ACTIVATION_CHECKPOINTING}"
        )
    context_fn = _selective_context if mode == "selective" else noop_context_fn
    for block in model.layers.values():
        block.__dict__.pop("forward", None)  # back to the class's forward
        if mode != "none":
            block.forward = functools.partial(_checkpointed_forward, block, context_fn)
