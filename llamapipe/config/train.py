"""The ``[train]`` section: model size, optimisation, parallelism, checkpoints, metrics.

Unset values (None) come from the size preset (llamapipe.model.presets): the paper's learning
rate, 4M-token batch and token budget for 7b..65b, small values for the CPU presets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llamapipe.config.base import StrictModel


class TrainConfig(StrictModel):
    #: Model preset: 7b 13b 33b 65b llama2-7b llama2-13b llama2-70b tiny demo.
    size: str = "demo"
    #: Start from existing weights: a Hugging Face Llama directory or a llamapipe checkpoint.
    #: The model's shape is the source's; the preset gives lr/batch/warmup defaults and the
    #: run's directory name. Optimizer, schedule and data order start fresh.
    init_from: str | None = None
    #: Where the token shards are (train/ valid/ manifest.json); default <run dir>/tokens.
    tokens_dir: str | None = None
    #: Training sequence length; default the preset's context (2048 for LLaMA).
    seq_len: int | None = Field(None, gt=0)
    #: Global batch in tokens (paper: 4M); rounded to whole sequences; default from the preset.
    global_batch_tokens: int | None = Field(None, gt=0)
    #: Sequences per forward/backward on one data-parallel rank; the rest is accumulation.
    micro_batch_size: int = Field(1, gt=0)
    #: Number of optimizer steps; default: the preset's token budget / global batch.
    max_steps: int | None = Field(None, gt=0)
    #: Peak learning rate; default from the preset (paper Table 2).
    lr: float | None = Field(None, gt=0)
    #: Linear warmup steps (paper: 2000); default from the preset.
    warmup_steps: int | None = Field(None, ge=0)
    #: The cosine schedule ends at this fraction of the peak (paper: 10%).
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    beta1: float = 0.9
    beta2: float = 0.95
    #: Adam epsilon (Llama 2 paper: 1e-5).
    eps: float = 1e-5
    weight_decay: float = Field(0.1, ge=0)
    #: "matrices": no decay on norm weights; "all": every parameter.
    weight_decay_on: Literal["matrices", "all"] = "matrices"
    grad_clip: float = Field(1.0, gt=0)
    #: "bf16" = autocast matmuls (FSDP keeps fp32 master weights and fp32 gradient reduction).
    precision: Literal["fp32", "bf16"] = "fp32"
    attention: Literal["sdpa", "xformers", "naive"] = "sdpa"
    #: Tensor (+ sequence) parallel degree; the data-parallel degree is world_size / tp.
    tp: int = Field(1, ge=1)
    activation_checkpointing: Literal["none", "selective", "full"] = "none"
    compile: bool = False
    #: Write a checkpoint every N steps (and always at the end); 0: only at the end.
    checkpoint_every: int = Field(100, ge=0)
    #: Keep only the newest K checkpoints.
    keep_checkpoints: int = Field(3, ge=1)
    #: Write checkpoints in a background thread where the process group allows it.
    async_checkpoint: bool = True
    #: Seed of initialisation and data order; default the run's seed.
    seed: int | None = None
    #: Live display: "auto" (rich when a terminal), "rich", "plain" (a line per log step), "none".
    display: Literal["auto", "rich", "plain", "none"] = "auto"
    log_every: int = Field(1, ge=1)
    tensorboard: bool = False
    #: Peak FLOP/s of one device for MFU; default: known GPU table, or measured matmul on CPU.
    peak_flops: float | None = Field(None, gt=0)
    #: Tokens per chunk of the fused output projection + cross-entropy; default 256 on CPU (the
    #: chunk's logits stay in cache), 8192 on GPU (fewer, larger kernels).
    loss_chunk_tokens: int | None = Field(None, gt=0)
