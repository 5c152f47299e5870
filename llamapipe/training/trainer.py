"""The pretraining loop: the same code for one CPU process and for torchrun across nodes."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
from torch.distributed.checkpoint.stateful import Stateful
from torch.distributed.tensor import DTensor
from torch.distributed.tensor.parallel import loss_parallel
from torch.optim.lr_scheduler import LambdaLR

from llamapipe.config.train import TrainConfig
from llamapipe.errors import ConfigError, StageError
from llamapipe.formats.token_shards import TokenShardSet
from llamapipe.model.args import ModelArgs
from llamapipe.model.presets import PRESETS, count_parameters, flops_per_token, get_preset
from llamapipe.model.transformer import Transformer, build_transformer
from llamapipe.runlock import hold_run_dir
from llamapipe.training.checkpoint import (
    MODEL_ARGS,
    CheckpointManager,
    latest_checkpoint,
    read_trainer_state,
)
from llamapipe.training.data import TokenBatchLoader, TokenManifest
from llamapipe.training.distributed import DistContext, setup_distributed, teardown_distributed
from llamapipe.training.init_from import (
    InitSource,
    classify_source,
    is_weights_only,
    read_source,
)
from llamapipe.training.metrics import MetricsLogger, device_peak_flops, memory_gib
from llamapipe.training.optim import build_optimizer, build_scheduler
from llamapipe.training.parallelize import parallelize
from llamapipe.training.state import LOADER, SCHEDULER, SchedulerState


@dataclass
class TrainResult:
    """What a call to `train` did (on rank 0: losses of the steps it ran)."""

    train_dir: Path
    start_step: int
    final_step: int
    total_steps: int
    losses: list[float] = field(default_factory=list)
    last_checkpoint: Path | None = None
    #: "hf:<dir>" or "checkpoint:<dir>" when the run started from existing weights.
    init_from: str | None = None


@dataclass(frozen=True)
class TrainPlan:
    """Numbers derived from the config and the preset before any tensor exists."""

    size: str
    seq_len: int
    global_batch_seqs: int
    total_steps: int
    lr: float
    warmup_steps: int


def make_plan(
    tc: TrainConfig, size: str, dp_size: int, model_args: ModelArgs | None = None
) -> TrainPlan:
    """Batch, steps and schedule; ``model_args`` (a model not built from the preset, e.g.
    --init-from) supplies the default sequence length instead of the preset."""
    preset = get_preset(size)
    seq_len = tc.seq_len or (model_args or preset.args).max_seq_len
    batch_tokens = tc.global_batch_tokens or preset.batch_tokens
    unit = dp_size * tc.micro_batch_size
    seqs = max(unit, round(batch_tokens / seq_len / unit) * unit)
    total = tc.max_steps or math.ceil(preset.train_tokens / (seqs * seq_len))
    warmup = tc.warmup_steps if tc.warmup_steps is not None else preset.warmup_steps
    return TrainPlan(size, seq_len, seqs, total, tc.lr or preset.lr, min(warmup, total))


def _build_model(
    tc: TrainConfig,
    plan: TrainPlan,
    vocab_size: int,
    ctx: DistContext,
    seed: int,
    base_args: ModelArgs | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
):
    """The (parallelized) model: the preset's shape over the tokens' vocabulary, or
    ``base_args`` as they are (a resumed checkpoint's or an --init-from source's shape), with
    ``init_state`` (a full state dict) loaded into it when given."""
    if base_args is None:
        base = replace(get_preset(plan.size).args, vocab_size=vocab_size)
    else:
        base = base_args
        if vocab_size > base.vocab_size:
            raise ConfigError(
                f"the token shards use a vocabulary of {vocab_size} ids but the model has only "
                f"{base.vocab_size} embeddings: tokenize with the model's own tokenizer"
            )
    args = replace(base, attention=tc.attention, max_seq_len=max(base.max_seq_len, plan.seq_len))
    cuda = ctx.device.type == "cuda"
    param_dtype = torch.bfloat16 if (tc.precision == "bf16" and cuda) else None
    torch.manual_seed(seed)
    if cuda:
        # Shapes only, then sharded, then materialised shard by shard on the GPU.
        model = build_transformer(args, device="meta")
        parallelize(model, ctx.mesh, tc.activation_checkpointing, tc.compile, param_dtype)
        model.to_empty(device=ctx.device)
        model.init_weights()
    else:
        # Every rank builds the same full model from the same seed; FSDP keeps its shard.
        model = Transformer(args)
        parallelize(model, ctx.mesh, tc.activation_checkpointing, tc.compile, param_dtype)
    if init_state is not None:
        # Full tensors in, each rank keeps its shard (works for plain and FSDP/TP modules).
        set_model_state_dict(model, init_state, options=StateDictOptions(full_state_dict=True))
    model.loss_chunk_size = tc.loss_chunk_tokens or (8192 if cuda else 256)
    return model, args


def _initial_weights(
    tc: TrainConfig, latest: Path | None
) -> tuple[InitSource | None, ModelArgs | None, dict[str, torch.Tensor] | None, str | None]:
    """What the model starts from: (source to initialise from, its args, its weights, and the
    lineage to record in trainer_state.json).

    - a resumable checkpoint of this run: its own shape, weights loaded later with the optimizer;
      --init-from must then name the source the run started from (or be absent);
    - else --init-from, or a weights-only checkpoint in the run (`llamapipe import-hf --out
      <run>/train/<size>/checkpoints/step_000000`): that model's shape and weights, fresh
      optimizer, schedule and data order;
    - else the preset, randomly initialised.
    """
    if latest is not None and not is_weights_only(latest):
        recorded = read_trainer_state(latest).get("init_from")
        if tc.init_from:
            wanted = classify_source(tc.init_from).describe()
            if recorded != wanted:
                raise ConfigError(
                    f"{latest.parent.parent}: this run continues from {latest.name}, which was "
                    f"initialised from {recorded or 'random weights'}, not {wanted}; "
                    "use --no-resume to start over from the new weights"
                )
        if recorded is None:
            return None, None, None, None
        return None, ModelArgs.load(latest / MODEL_ARGS), None, recorded
    if tc.init_from:
        init = classify_source(tc.init_from)
    elif latest is not None:  # weights only: start from it instead of crashing on optim state
        init = InitSource(latest.resolve(), "checkpoint")
    else:
        return None, None, None, None
    try:
        state, args = read_source(init)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ConfigError(f"--init-from {init.path}: {exc}") from exc
    return init, args, state, init.describe()


def train(
    tc: TrainConfig,
    run_dir: Path,
    *,
    size: str | None = None,
    steps: int | None = None,
    resume: bool = True,
    seed: int = 0,
) -> TrainResult:
    """Train (or continue training) `size` on <run_dir>/tokens; write <run_dir>/train/<size>/.

    `steps` stops early at that global step; the learning-rate schedule still spans
    `max_steps`, so stopping and resuming later trains exactly like one uninterrupted run.
    """
    size = size or tc.size
    if size not in PRESETS:
        raise ConfigError(f"unknown model size {size!r}; known: {', '.join(PRESETS)}")
    seed = tc.seed if tc.seed is not None else seed
    run_dir = Path(run_dir)
    tokens_dir = Path(tc.tokens_dir) if tc.tokens_dir else run_dir / "tokens"
    try:
        manifest = TokenManifest.load(tokens_dir)
        TokenShardSet.from_directory(tokens_dir / "train")
    except (FileNotFoundError, ValueError) as exc:
        raise StageError(f"cannot train on {tokens_dir}: {exc}") from exc
    train_dir = run_dir / "train" / size
    # torch creates its inductor cache on the first step, by default in $TMPDIR: keep it in the
    # run dir with everything else the run writes (an explicit setting wins).
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(run_dir / "cache" / "torchinductor"))
    # One trainer per run dir: global rank 0 holds the lock (re-entrant under the CLI, which
    # took it already); the other ranks of a torchrun job are covered by it.
    rank = dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", "0"))
    with hold_run_dir(run_dir) if rank == 0 else contextlib.nullcontext():
        ctx = setup_distributed(tc.tp)
        if not resume and ctx.is_main and (train_dir / "checkpoints").exists():
            # Starting over: older checkpoints would otherwise be picked up by a later --resume.
            shutil.rmtree(train_dir / "checkpoints")
        try:
            return _train(tc, ctx, size, tokens_dir, manifest, train_dir, steps, resume, seed)
        finally:
            teardown_distributed(ctx)


@dataclass
class Trainer:
    """The pieces of one run, as `build` makes them and `train_step` advances them.

    The model, optimizer, scheduler and data loader are what a checkpoint saves (as the Stateful
    objects of llamapipe/training/state.py, with each rank's RNG); `step` and `tokens` are the
    progress recorded in trainer_state.json.
    """

    tc: TrainConfig
    ctx: DistContext
    plan: TrainPlan
    size: str
    args: ModelArgs
    model: Transformer
    optimizer: torch.optim.Optimizer
    scheduler: LambdaLR
    loader: TokenBatchLoader
    checkpoints: CheckpointManager
    init_from: str | None
    step: int = 0
    tokens: int = 0

    def pieces(self) -> dict[str, Stateful]:
        """The Stateful pieces a checkpoint holds besides model, optimizer and RNG."""
        return {SCHEDULER: SchedulerState(self.scheduler), LOADER: self.loader}


@dataclass(frozen=True)
class StepStats:
    loss: float
    grad_norm: float
    lr: float
    seconds: float


def build(
    tc: TrainConfig,
    ctx: DistContext,
    size: str,
    tokens_dir: Path,
    manifest: TokenManifest,
    train_dir: Path,
    seed: int,
    latest: Path | None,
) -> tuple[Trainer, Path | None]:
    """Model (from the preset, this run's last checkpoint's shape or --init-from), optimizer,
    schedule, data loader and checkpoint manager. Returns the trainer and the checkpoint to
    resume from (None when starting from step 0, also when starting from other weights)."""
    init, base_args, init_state, init_from = _initial_weights(tc, latest)
    if init is not None:
        latest = None  # a fresh run from these weights, not a continuation
    plan = make_plan(tc, size, ctx.dp_size, base_args if init_from else None)
    model, args = _build_model(
        tc, plan, manifest.vocab_size, ctx, seed, base_args=base_args, init_state=init_state
    )
    del init_state
    optimizer = build_optimizer(
        model, plan.lr, (tc.beta1, tc.beta2), tc.eps, tc.weight_decay, tc.weight_decay_on
    )
    scheduler = build_scheduler(optimizer, plan.warmup_steps, plan.total_steps, tc.min_lr_ratio)
    loader = TokenBatchLoader(
        tokens_dir,
        plan.seq_len,
        plan.global_batch_seqs,
        tc.micro_batch_size,
        ctx.dp_rank,
        ctx.dp_size,
        seed,
    )
    checkpoints = CheckpointManager(
        train_dir / "checkpoints", args, tc.keep_checkpoints, tc.async_checkpoint
    )
    trainer = Trainer(
        tc, ctx, plan, size, args, model, optimizer, scheduler, loader, checkpoints, init_from
    )
    return trainer, latest


def resume(trainer: Trainer, checkpoint: Path) -> None:
    """Restore every piece from `checkpoint` and continue at its step.

    The schedule's shape stays this run's (max_steps may have been raised to extend training):
    only the position in it comes from the checkpoint (state.py, SchedulerState).
    """
    state = trainer.checkpoints.load(checkpoint, trainer.model, trainer.optimizer, trainer.pieces())
    trainer.step, trainer.tokens = int(state["step"]), int(state["tokens"])


def train_step(trainer: Trainer) -> StepStats:
    """One optimizer step over this rank's micro-batches; the loss is the mean over all ranks."""
    started = time.perf_counter()
    ctx, model, optimizer = trainer.ctx, trainer.model, trainer.optimizer
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if trainer.tc.precision == "bf16" and ctx.device.type == "cpu"
        else contextlib.nullcontext()
    )
    tp_loss = loss_parallel if ctx.tp_size > 1 else contextlib.nullcontext
    micro_batches = trainer.loader.next_step()
    loss_sum = torch.zeros((), device=ctx.device)
    for inputs, targets in micro_batches:
        with autocast, tp_loss():
            loss = model(inputs.to(ctx.device), targets=targets.to(ctx.device))
            (loss / len(micro_batches)).backward()
        loss_sum += full_tensor(loss.detach()).float()
    grad_norm = full_tensor(
        torch.nn.utils.clip_grad_norm_(model.parameters(), trainer.tc.grad_clip)
    )
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    trainer.scheduler.step()
    mean_loss = loss_sum / len(micro_batches)
    dist.all_reduce(mean_loss)
    trainer.step += 1
    trainer.tokens += trainer.plan.global_batch_seqs * trainer.plan.seq_len
    seconds = time.perf_counter() - started
    return StepStats(mean_loss.item() / ctx.world_size, float(grad_norm), lr, seconds)


def full_tensor(value: torch.Tensor) -> torch.Tensor:
    """The whole value of a loss or norm: under tensor parallelism a replicated DTensor."""
    return value.full_tensor() if isinstance(value, DTensor) else value


def save(trainer: Trainer) -> Path:
    """Start the checkpoint of the current step (written in the background when async)."""
    trainer_state = {
        "step": trainer.step,
        "tokens": trainer.tokens,
        "total_steps": trainer.plan.total_steps,
        "world_size": trainer.ctx.world_size,
        "tp": trainer.ctx.tp_size,
        "size": trainer.size,
        "init_from": trainer.init_from,
    }
    return trainer.checkpoints.save(
        trainer.step, trainer.model, trainer.optimizer, trainer_state, trainer.pieces()
    )


def _train(
    tc: TrainConfig,
    ctx: DistContext,
    size: str,
    tokens_dir: Path,
    manifest: TokenManifest,
    train_dir: Path,
    steps: int | None,
    resume_run: bool,
    seed: int,
) -> TrainResult:
    latest = latest_checkpoint(train_dir) if resume_run else None
    trainer, latest = build(tc, ctx, size, tokens_dir, manifest, train_dir, seed, latest)
    if latest is not None:
        resume(trainer, latest)
    plan, start_step = trainer.plan, trainer.step
    stop = min(steps, plan.total_steps) if steps is not None else plan.total_steps
    if start_step >= stop and (train_dir / "manifest.json").exists():
        # Already trained this far: touch nothing (metrics, manifest, checkpoints), so that a
        # second `llamapipe run` does no work and rewrites no file.
        trainer.checkpoints.close()
        return TrainResult(
            train_dir, start_step, start_step, plan.total_steps, last_checkpoint=latest
        )
    result = TrainResult(
        train_dir,
        start_step,
        start_step,
        plan.total_steps,
        last_checkpoint=latest,
        init_from=trainer.init_from,
    )
    logger = None
    if ctx.is_main:
        tb_dir = train_dir / "tensorboard" if tc.tensorboard else None
        logger = MetricsLogger(
            train_dir / "metrics.jsonl", plan.total_steps, tc.display, tb_dir, start_step
        )
    trainer.model.train()
    try:
        _run_steps(trainer, stop, result, logger)
        trainer.checkpoints.close()
    finally:
        if logger is not None:
            logger.close()
    if ctx.is_main and (result.losses or not (train_dir / "manifest.json").exists()):
        n_params = count_parameters(trainer.model)
        _write_manifest(train_dir, tc, plan, trainer.args.to_dict(), n_params, result, trainer)
    return result


def _run_steps(
    trainer: Trainer, stop: int, result: TrainResult, logger: MetricsLogger | None
) -> None:
    """train_step up to global step `stop`, logging and checkpointing on the config's cadence."""
    tc, ctx, plan = trainer.tc, trainer.ctx, trainer.plan
    step_flops_per_token = flops_per_token(trainer.args, plan.seq_len)
    peak = (tc.peak_flops or device_peak_flops(ctx.device, tc.precision)) * ctx.world_size
    tokens_per_step = plan.global_batch_seqs * plan.seq_len
    while trainer.step < stop:
        stats = train_step(trainer)
        done = trainer.step
        if ctx.is_main:
            result.losses.append(stats.loss)
        if logger is not None and (done % tc.log_every == 0 or done == stop):
            tokens_per_s = tokens_per_step / stats.seconds
            logger.log(
                {
                    "step": done,
                    "loss": stats.loss,
                    "lr": stats.lr,
                    "grad_norm": stats.grad_norm,
                    "tokens": trainer.tokens,
                    "tokens_per_s": tokens_per_s,
                    "mfu": tokens_per_s * step_flops_per_token / peak,
                    "memory_gib": memory_gib(ctx.device),
                    "step_time_s": stats.seconds,
                }
            )
        result.final_step = done
        if (tc.checkpoint_every and done % tc.checkpoint_every == 0) or done == stop:
            result.last_checkpoint = save(trainer)


def _write_manifest(
    train_dir: Path,
    tc: TrainConfig,
    plan: TrainPlan,
    model_args: dict[str, Any],
    n_params: int,
    result: TrainResult,
    trainer: Trainer,
) -> None:
    ctx = trainer.ctx
    manifest = {
        "stage": f"train/{plan.size}",
        "size": plan.size,
        "model_args": model_args,
        "parameters": n_params,
        "step": result.final_step,
        "total_steps": plan.total_steps,
        "tokens": trainer.tokens,
        "seq_len": plan.seq_len,
        "global_batch_sequences": plan.global_batch_seqs,
        "world_size": ctx.world_size,
        "tp": ctx.tp_size,
        "final_loss": result.losses[-1] if result.losses else None,
        "init_from": result.init_from,
        "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
        "config": tc.model_dump(),
    }
    train_dir.mkdir(parents=True, exist_ok=True)
    (train_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def run_training(
    cfg: Any,
    size: str | None = None,
    *,
    steps: int | None = None,
    resume: bool = True,
) -> TrainResult:
    """Entry point for `llamapipe run` / `llamapipe train`: reads cfg.train and cfg.run."""
    run_dir = Path(getattr(cfg, "run_dir", cfg.run.dir))
    tc = cfg.train
    if tc.init_from and not Path(tc.init_from).expanduser().is_absolute():
        # A config's relative path means relative to pipeline.toml's folder.
        base = Path(getattr(cfg, "base_dir", "."))
        tc = tc.model_copy(update={"init_from": str(base / Path(tc.init_from).expanduser())})
    return train(tc, run_dir, size=size, steps=steps, resume=resume, seed=cfg.run.seed)
