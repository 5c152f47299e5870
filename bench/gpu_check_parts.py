"""The measuring parts of the GPU check (bench/gpu_check.py), each run in its own process.

A part returns one JSON-able dict and may `emit` partial ones on the way (the orchestrator keeps
the last if the part runs out of time: "compile warm-up still running after N s" is a finding).
Needs only torch (+ transformers for hf_sdpa): llamapipe's model and training modules import
nothing else.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from bench.bench_train_step import CUDA_SETUP, hf_twin, step_hf, step_ours
from llamapipe.model import ModelArgs, Transformer, count_parameters, flops_per_token
from llamapipe.training.distributed import DistContext, setup_distributed, teardown_distributed
from llamapipe.training.metrics import memory_gib
from llamapipe.training.optim import build_optimizer
from llamapipe.training.parallelize import parallelize

Emit = Callable[[dict[str, Any]], None]
StepFn = Callable[[torch.nn.Module, torch.optim.Optimizer, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Shapes:
    args: ModelArgs
    batch: int
    seq: int


#: CPU dry run: the "tiny" preset's shape, seconds per part.
DRY_ARGS = ModelArgs(dim=64, n_layers=2, n_heads=4, vocab_size=512, multiple_of=32, max_seq_len=64)


def shapes(dry_run: bool, batch: int | None) -> Shapes:
    """~1B LLaMA shape of bench_train_step.CUDA_SETUP (dim 2048, 18 layers, seq 2048) on GPU."""
    if dry_run:
        return Shapes(DRY_ARGS, batch or 2, DRY_ARGS.max_seq_len)
    return Shapes(CUDA_SETUP.args, batch or 4, CUDA_SETUP.seq)


def setup_summary(s: Shapes, warmup: int, steps: int) -> dict[str, Any]:
    return {
        "model_args": s.args.to_dict(),
        "batch": s.batch,
        "seq": s.seq,
        "tokens_per_step": s.batch * s.seq,
        "warmup_steps": warmup,
        "timed_steps": steps,
        "parameters": count_parameters(s.args),
        "flops_per_token": flops_per_token(s.args, s.seq),
        "precision": "bf16 FSDP2 MixedPrecisionPolicy (fp32 master weights, fp32 reduce)",
        "optimizer": "AdamW fused, llamapipe.training.optim.build_optimizer",
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------------------- matmul


def part_matmul(dry_run: bool, s: Shapes, emit: Emit) -> dict[str, Any]:
    """bf16 matmul rate on random data: a large square product and the model's FFN product.

    The square one is the "measured peak" that MFU is also reported against.
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    square = 256 if dry_run else 8192
    tokens = s.batch * s.seq
    result: dict[str, Any] = {"device": device.type}
    for name, (m, k, n) in {
        "square": (square, square, square),
        "ffn_w1w3": (tokens, s.args.dim, 2 * s.args.ffn_hidden_dim),
    }.items():
        a = torch.randn(m, k, device=device, dtype=torch.bfloat16)
        b = torch.randn(k, n, device=device, dtype=torch.bfloat16)
        seconds = _time_repeated(lambda a=a, b=b: torch.mm(a, b), device, warmup=3, repeats=10)
        median = statistics.median(seconds)
        result[name] = {
            "m": m,
            "k": k,
            "n": n,
            "median_s": median,
            "flops_per_s_median": 2.0 * m * k * n / median,
            "flops_per_s_best": 2.0 * m * k * n / min(seconds),
        }
        emit(result)
    result["peak_flops"] = result["square"]["flops_per_s_median"]
    return result


def _time_repeated(
    fn: Callable[[], Any], device: torch.device, warmup: int, repeats: int
) -> list[float]:
    """Seconds of each of `repeats` calls after `warmup` (CUDA events on GPU)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    if device.type != "cuda":
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return times
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))]
    events += [
        (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
        for _ in range(repeats - 1)
    ]
    for start, end in events:
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize(device)
    return [start.elapsed_time(end) / 1e3 for start, end in events]


# ---------------------------------------------------------------------------------- train steps


def _reference_model(args: ModelArgs, device: torch.device) -> Transformer:
    """fp32 weights from seed 0 on `device`: every part (HF's too) starts from the same ones."""
    torch.manual_seed(0)
    with torch.device(device):
        model = Transformer(args)
    if device.type == "cuda":
        model.loss_chunk_size = 8192  # the trainer's GPU setting (llamapipe/training/trainer.py)
    return model


def _token_batch(s: Shapes, device: torch.device) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, s.args.vocab_size, (s.batch, s.seq + 1), generator=generator).to(device)


def part_train_ours(
    s: Shapes,
    compile_blocks: bool,
    activation_checkpointing: str,
    attention: str,
    opts: Any,
    emit: Emit,
) -> dict[str, Any]:
    """Train steps of llamapipe's model as the trainer sets it up on a GPU: bf16 FSDP2 on a
    one-rank NCCL mesh (gloo on CPU), blocks compiled or not, AC as asked."""
    if attention == "xformers":
        import xformers.ops  # noqa: F401  (ImportError: the part reports "unavailable")
    ctx = setup_distributed(tp=1)
    try:
        args = replace(s.args, attention=attention)
        model = _reference_model(args, ctx.device)
        parallelize(
            model,
            ctx.mesh,
            activation_checkpointing,
            compile_blocks,
            torch.bfloat16,
            opts.compile_backend,
        )
        optimizer = build_optimizer(model, lr=1e-4)
        result = {
            "model": "llamapipe Transformer",
            "compile": opts.compile_backend if compile_blocks else None,
            "activation_checkpointing": activation_checkpointing,
            "attention": attention,
            "loss_chunk_size": model.loss_chunk_size,
        }
        return _measure(model, optimizer, step_ours, s, ctx, opts, result, emit)
    finally:
        teardown_distributed(ctx)


def part_train_hf(s: Shapes, opts: Any, emit: Emit) -> dict[str, Any]:
    """The baseline: Hugging Face LlamaForCausalLM (SDPA, eager) with llamapipe's weights,
    under the same FSDP2 bf16 policy, optimizer and batch."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    ctx = setup_distributed(tp=1)
    try:
        ours = _reference_model(s.args, ctx.device)
        with torch.device(ctx.device):
            hf = hf_twin(ours)
        hf.config.use_cache = False  # training: no KV cache objects per step
        probe = _token_batch(s, ctx.device)[:1, : min(s.seq, 256)]
        with torch.no_grad():
            diff = (ours(probe) - hf(input_ids=probe).logits).abs().max().item()
        del ours
        if not diff < 1e-3:
            raise RuntimeError(f"HF twin differs from llamapipe's model: max |logits| {diff:.3g}")
        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        layers = list(hf.model.layers)
        for i, layer in enumerate(layers):  # as llamapipe.training.parallelize.apply_fsdp
            fully_shard(
                layer, mesh=ctx.mesh["dp"], mp_policy=mp, reshard_after_forward=i < len(layers) - 1
            )
        fully_shard(hf, mesh=ctx.mesh["dp"], mp_policy=mp, reshard_after_forward=False)
        optimizer = build_optimizer(hf, lr=1e-4)
        import transformers

        result = {
            "model": f"transformers {transformers.__version__} LlamaForCausalLM",
            "compile": None,
            "activation_checkpointing": "none",
            "attention": hf.config._attn_implementation,
            "max_abs_logit_diff_vs_ours_fp32": diff,
        }
        return _measure(hf, optimizer, step_hf, s, ctx, opts, result, emit)
    finally:
        teardown_distributed(ctx)


def _measure(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: StepFn,
    s: Shapes,
    ctx: DistContext,
    opts: Any,
    result: dict[str, Any],
    emit: Emit,
) -> dict[str, Any]:
    """Warm-up steps (compilation happens here), then timed steps, then a short profile."""
    device = ctx.device
    batch = _token_batch(s, device)
    losses: list[torch.Tensor] = []
    result["phase"] = "warm-up"
    result["warmup_step_s"] = []
    emit(result)
    for _ in range(opts.warmup):
        started = time.perf_counter()
        losses.append(step(model, optimizer, batch))
        _sync(device)
        result["warmup_step_s"].append(time.perf_counter() - started)
        emit(result)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result["phase"] = "timed"
    emit(result)
    wall = time.perf_counter()
    seconds = _time_repeated(
        lambda: losses.append(step(model, optimizer, batch)), device, 0, opts.steps
    )
    wall = time.perf_counter() - wall
    values = [float(x) for x in losses]
    if not all(math.isfinite(x) for x in values):
        raise RuntimeError(f"non-finite training loss: {values}")
    median = statistics.median(seconds)
    tokens = s.batch * s.seq
    result.update(
        {
            "warmup_s": sum(result["warmup_step_s"]),
            "step_time_s_median": median,
            "step_time_s_min": min(seconds),
            "step_time_s_max": max(seconds),
            "tokens_per_s": tokens / median,
            "tokens_per_s_wall_mean": tokens * opts.steps / wall,
            "flops_per_token": flops_per_token(s.args, s.seq),
            "losses": values,
            "peak_memory_gib": memory_gib(device),
            "memory_kind": (
                "torch.cuda.max_memory_allocated over the timed steps"
                if device.type == "cuda"
                else "process max RSS"
            ),
        }
    )
    if device.type == "cuda":
        result["peak_memory_reserved_gib"] = torch.cuda.max_memory_reserved(device) / 2**30
    result["compile_counters"] = _dynamo_counters()
    result["phase"] = "profile"
    emit(result)
    result["profile"] = (
        None if opts.no_profile else _profile(model, optimizer, step, batch, device, opts)
    )
    result.pop("phase")
    return result


def _dynamo_counters() -> dict[str, int]:
    """Graphs, recompiles and graph breaks torch.compile reported (zeros when not compiled)."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return {}
    return {
        "unique_graphs": int(counters["stats"].get("unique_graphs", 0)),
        "frames_ok": int(counters["frames"].get("ok", 0)),
        "graph_breaks": int(sum(counters["graph_break"].values())),
        "recompiles": int(sum(counters["recompiles"].values())),
    }


#: Kernel name fragments -> what they are, to say where a train step's GPU time goes.
KERNEL_CLASSES = (
    ("gemm", ("gemm", "cutlass", "nvjet", "xmma", "cublas", "matmul", "sm90_")),
    ("attention", ("flash", "fmha", "attn", "attention")),
    ("nccl", ("nccl",)),
    ("optimizer", ("adam",)),
    ("memcpy/memset", ("memcpy", "memset")),
    ("compiled (triton)", ("triton",)),
)


def _kernel_class(name: str) -> str:
    lower = name.lower()
    for label, fragments in KERNEL_CLASSES:
        if any(fragment in lower for fragment in fragments):
            return label
    return "other (eager elementwise, reductions)"


def _profile(model, optimizer, step: StepFn, batch, device: torch.device, opts) -> dict[str, Any]:
    """Self time per kernel (GPU) or per op (CPU) over a couple of steps, grouped by class."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    steps = 1 if opts.dry_run else 2
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step(model, optimizer, batch)
        _sync(device)
    rows = []
    for event in prof.key_averages():
        if cuda:
            if event.device_type != DeviceType.CUDA:
                continue
            us = getattr(event, "self_device_time_total", None)
            if us is None:
                us = event.self_cuda_time_total
        else:
            us = event.self_cpu_time_total
        if us > 0:
            rows.append((us, event.count, event.key))
    total = sum(us for us, _, _ in rows) or 1.0
    classes: dict[str, float] = {}
    for us, _, name in rows:
        label = _kernel_class(name) if cuda else "cpu op"
        classes[label] = classes.get(label, 0.0) + us
    rows.sort(reverse=True)
    return {
        "what": "CUDA kernels' self time" if cuda else "CPU ops' self time",
        "steps": steps,
        "total_ms_per_step": total / 1e3 / steps,
        "by_class": {
            label: {"ms_per_step": us / 1e3 / steps, "share": us / total}
            for label, us in sorted(classes.items(), key=lambda kv: -kv[1])
        },
        "top": [
            {
                "name": name[:160],
                "ms_per_step": us / 1e3 / steps,
                "share": us / total,
                "calls_per_step": count / steps,
            }
            for us, count, name in rows[:15]
        ],
    }
