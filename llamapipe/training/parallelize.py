"""Apply the parallelism plan to a Transformer, in the order that composes:
tensor parallel, then activation checkpointing, then compile, then FSDP.

The model (llamapipe/model/) is plain torch and knows nothing of this; everything that depends
on how its tensors are split or recomputed is done here:

- Tensor + sequence parallel (Megatron/Korthikanti): wq/wk/wv/w1/w3 split by output (heads,
  hidden), wo/w2 by input, so each block needs one all-gather and one reduce-scatter per
  sub-layer; norms and the residual stream are split along the sequence between them. The
  model's fused kernels need whole weights and plain tensors, so they are turned off first
  (Transformer.set_fused_kernels): separate projections, RMSNorm and the loss in plain autograd
  ops, which run on the sharded DTensors.
- Activation checkpointing of each block (llamapipe/training/activation_checkpointing.py).
- FSDP2 `fully_shard` per block then the root: parameters, gradients and optimizer state are
  sharded over the data-parallel mesh dimension and gathered one block at a time.
"""

from __future__ import annotations

import torch
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import Replicate, Shard
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    PrepareModuleInput,
    RowwiseParallel,
    SequenceParallel,
    parallelize_module,
)

from llamapipe.model.transformer import Transformer
from llamapipe.training.activation_checkpointing import apply_activation_checkpointing


def apply_tensor_parallel(model: Transformer, tp_mesh: DeviceMesh) -> None:
    """Shard heads and FFN hidden units over tp_mesh; the sequence between sub-layers.

    The output projection stays vocabulary-sharded (use_local_output=False) so the loss is
    computed with `loss_parallel` without gathering [tokens, vocab] logits: the trainer runs
    forward and backward inside `loss_parallel()` when tp > 1.
    """
    args = model.args
    tp = tp_mesh.size()
    if args.n_heads % tp or args.kv_heads % tp:
        raise ValueError(
            f"tensor parallel {tp} must divide the heads ({args.n_heads}) and KV heads "
            f"({args.kv_heads})"
        )
    model.set_fused_kernels(False)
    parallelize_module(
        model,
        tp_mesh,
        {
            "tok_embeddings": RowwiseParallel(input_layouts=Replicate(), output_layouts=Shard(1)),
            "norm": SequenceParallel(),
            "output": ColwiseParallel(
                input_layouts=Shard(1), output_layouts=Shard(-1), use_local_output=False
            ),
        },
    )
    for block in model.layers.values():
        parallelize_module(
            block,
            tp_mesh,
            {
                "attention_norm": SequenceParallel(),
                "attention": PrepareModuleInput(
                    input_layouts=(Shard(1), None, None, None, None),
                    desired_input_layouts=(Replicate(), None, None, None, None),
                ),
                "attention.wq": ColwiseParallel(),
                "attention.wk": ColwiseParallel(),
                "attention.wv": ColwiseParallel(),
                "attention.wo": RowwiseParallel(output_layouts=Shard(1)),
                "ffn_norm": SequenceParallel(),
                "feed_forward": PrepareModuleInput(
                    input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),)
                ),
                "feed_forward.w1": ColwiseParallel(),
                "feed_forward.w2": RowwiseParallel(output_layouts=Shard(1)),
                "feed_forward.w3": ColwiseParallel(),
            },
        )


def apply_compile(model: Transformer, backend: str = "inductor") -> None:
    """torch.compile each block in place (names unchanged; one graph reused by all blocks).

    `backend` other than inductor is for CPU dry runs (bench/gpu_check.py --dry-run uses
    "aot_eager": the same tracing, no C++ code generation).
    """
    for block in model.layers.values():
        block.compile(backend=backend)


def apply_fsdp(model: Transformer, dp_mesh: DeviceMesh, param_dtype: torch.dtype | None) -> None:
    """fully_shard every block, then the root (embeddings, final norm, output).

    With param_dtype bf16, FSDP gathers bf16 copies of fp32 master weights and reduces gradients
    in fp32 (the usual mixed precision on GPU).
    """
    mp = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32)
    blocks = list(model.layers.values())
    for i, block in enumerate(blocks):
        # The last block's parameters are needed right away by backward: keep them gathered.
        fully_shard(block, mesh=dp_mesh, mp_policy=mp, reshard_after_forward=i < len(blocks) - 1)
    fully_shard(model, mesh=dp_mesh, mp_policy=mp, reshard_after_forward=False)


def parallelize(
    model: Transformer,
    mesh: DeviceMesh,
    activation_checkpointing: str = "none",
    compile_blocks: bool = False,
    param_dtype: torch.dtype | None = None,
    compile_backend: str = "inductor",
) -> Transformer:
    """TP (if the mesh's tp dimension > 1), then AC, then compile, then FSDP over dp."""
    if mesh["tp"].size() > 1:
        apply_tensor_parallel(model, mesh["tp"])
    apply_activation_checkpointing(model, activation_checkpointing)
    if compile_blocks:
        apply_compile(model, compile_backend)
    apply_fsdp(model, mesh["dp"], param_dtype)
    return model
