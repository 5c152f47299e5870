"""`llamapipe train --size 65b --dry-run`: what a run would cost, before renting a GPU.

Builds the model on the meta device (shapes only) and estimates, per GPU, the memory of the
chosen sharding (FSDP over data-parallel ranks x tensor parallel) and activation checkpointing,
then the time to train the preset's token budget at a given MFU, the GPU-hours, the energy and
the carbon in the terms of the paper's Table 15:

    MWh = GPU-hours x GPU power (A100: 400 W) x PUE 1.1 / 1e6;   tCO2eq = MWh x 0.385

Memory model (bf16 compute, fp32 master weights; every term is printed):
- sharded state: 16 bytes per parameter (fp32 weight, fp32 gradient, Adam's two moments),
  divided by dp x tp;
- gathered weights: FSDP holds bf16 copies of the current and the prefetched block plus the
  embeddings/output (the root stays gathered), and a block's bf16 gradient and its fp32 copy
  for the reduce-scatter; divided by tp;
- activations saved for backward per token and layer, in bf16, divided by tp (sequence parallel
  splits what tensor parallel does not): no checkpointing ~ (11 d + 2 d_kv + 4 f); selective
  (keep matmul and attention outputs) ~ (5 d + 2 d_kv + 2 f); full ~ d plus one layer recomputed;
- loss: fp32 logits of a chunk (or of the local vocabulary shard under TP), three live copies;
- 10% + 1.5 GiB for the CUDA context, NCCL buffers and fragmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from llamapipe.model.args import ModelArgs
from llamapipe.model.presets import count_parameters, flops_per_token, get_preset

# Paper, Table 15 and section 2.4 (A100-80GB at 400 W, PUE, tCO2eq per MWh, the 65B's
# tokens/s/GPU; GPU-hours, MWh, tCO2eq of the four sizes): defined in llamapipe/recipe.py.
from llamapipe.recipe import CARBON_INTENSITY_T_PER_MWH as TCO2_PER_MWH
from llamapipe.recipe import PAPER_65B_TOKENS_PER_GPU_S, PUE
from llamapipe.recipe import TABLE15 as PAPER_TABLE_15

GIB = 2**30


@dataclass(frozen=True)
class GpuSpec:
    name: str
    memory_gib: float
    bf16_flops: float
    power_w: float


GPUS = {
    "a100-80gb": GpuSpec("A100-80GB", 80, 312e12, 400),
    "a100-40gb": GpuSpec("A100-40GB", 40, 312e12, 400),
    "h100-80gb": GpuSpec("H100-80GB SXM", 80, 989e12, 700),
    "h200": GpuSpec("H200 SXM", 141, 989e12, 700),
    "v100-32gb": GpuSpec("V100-32GB", 32, 125e12, 300),
}


def paper_mfu() -> float:
    """MFU of the paper's 65B run (380 tokens/s/GPU on A100), with our FLOPs-per-token formula."""
    return PAPER_65B_TOKENS_PER_GPU_S * flops_per_token(get_preset("65b").args, 2048) / 312e12


def table15_tokens_per_gpu_s(size: str) -> float:
    """Throughput Table 15 implies for a size: its token budget over its GPU-hours."""
    if size not in PAPER_TABLE_15:
        raise ValueError(f"Table 15 has no row for {size!r}; it lists {', '.join(PAPER_TABLE_15)}")
    return get_preset(size).train_tokens / (PAPER_TABLE_15[size][0] * 3600)


def table15_mfu(size: str) -> float:
    """MFU Table 15 implies for a size on A100s (the smaller models ran at a higher MFU than the
    65B's: the 7B's GPU-hours are ~6% fewer than the 65B's MFU predicts)."""
    return table15_tokens_per_gpu_s(size) * flops_per_token(get_preset(size).args, 2048) / 312e12


#: --throughput choices besides an explicit --mfu / --tokens-per-gpu-s.
THROUGHPUT_ASSUMPTIONS = ("paper-65b", "table15")


@dataclass
class MemoryEstimate:
    sharded_state: float
    gathered_weights: float
    activations: float
    loss: float
    overhead: float

    @property
    def total(self) -> float:
        return (
            self.sharded_state
            + self.gathered_weights
            + self.activations
            + self.loss
            + self.overhead
        )


def activation_bytes_per_token_layer(args: ModelArgs, checkpointing: str) -> float:
    d, f = args.dim, args.ffn_hidden_dim
    kv = args.kv_heads * args.head_dim
    elements = {
        "none": 11 * d + 2 * kv + 4 * f,
        "selective": 5 * d + 2 * kv + 2 * f,
        "full": d,
    }[checkpointing]
    return 2.0 * elements


def estimate_memory(
    args: ModelArgs,
    n_params: int,
    dp: int,
    tp: int,
    checkpointing: str,
    micro_batch: int,
    seq_len: int,
    loss_chunk_tokens: int = 2048,
) -> MemoryEstimate:
    d, f = args.dim, args.ffn_hidden_dim
    kv = args.kv_heads * args.head_dim
    block_params = 2 * d * d + 2 * d * kv + 3 * d * f + 2 * d
    root_params = 2 * args.vocab_size * d + d
    sharded = 16.0 * n_params / (dp * tp)
    gathered = (2 * 2 * block_params + (2 + 4) * block_params + 2 * root_params) / tp
    tokens = micro_batch * seq_len
    per_layer = activation_bytes_per_token_layer(args, checkpointing)
    activations = tokens * args.n_layers * per_layer / tp
    if checkpointing == "full":
        activations += tokens * activation_bytes_per_token_layer(args, "none") / tp
    activations += tokens * d * 2 * 2 / tp  # embeddings out, final norm
    loss_tokens = tokens if tp > 1 else min(tokens, loss_chunk_tokens)
    loss = 3 * 4.0 * loss_tokens * args.vocab_size / tp
    subtotal = sharded + gathered + activations + loss
    return MemoryEstimate(sharded, gathered, activations, loss, 0.1 * subtotal + 1.5 * GIB)


@dataclass
class TrainingEstimate:
    size: str
    gpu: GpuSpec
    gpus: int
    tp: int
    dp: int
    activation_checkpointing: str
    micro_batch: int
    seq_len: int
    parameters: int
    flops_per_token: float
    train_tokens: int
    batch_tokens: int
    mfu: float
    memory: MemoryEstimate
    fits: bool
    tokens_per_gpu_s: float
    days: float
    gpu_hours: float
    mwh: float
    tco2: float
    accumulation_steps: int
    suggestion: tuple[int, str, float] | None = None
    notes: list[str] = field(default_factory=list)
    #: Where the MFU came from (printed with it).
    throughput_assumption: str = ""


def _check_plan_arguments(
    gpus: int,
    gpu: str,
    tp: int,
    mfu: float | None,
    tokens_per_gpu_s: float | None,
    throughput: str,
) -> None:
    if tokens_per_gpu_s is not None and mfu is not None:
        raise ValueError("give either a throughput in tokens/s/GPU or an MFU, not both")
    if throughput not in THROUGHPUT_ASSUMPTIONS:
        raise ValueError(
            f"unknown throughput assumption {throughput!r}; choose one of "
            f"{', '.join(THROUGHPUT_ASSUMPTIONS)} (or give --mfu / --tokens-per-gpu-s)"
        )
    if gpu not in GPUS:
        raise ValueError(f"unknown GPU {gpu!r}; known: {', '.join(GPUS)}")
    if gpus % tp:
        raise ValueError(f"--gpus {gpus} is not divisible by --tp {tp}")


def _assumed_mfu(
    size: str,
    fpt: float,
    spec: GpuSpec,
    mfu: float | None,
    tokens_per_gpu_s: float | None,
    throughput: str,
) -> tuple[float, str]:
    """The MFU the estimate assumes, and where it comes from (see plan_training)."""
    if tokens_per_gpu_s is not None:
        if tokens_per_gpu_s <= 0:
            raise ValueError(f"tokens per second per GPU must be positive, got {tokens_per_gpu_s}")
        return (
            tokens_per_gpu_s * fpt / spec.bf16_flops,
            f"given: {tokens_per_gpu_s:,.0f} tokens/s/GPU",
        )
    if mfu is not None:
        if not 0 < mfu <= 1:
            raise ValueError(f"MFU must be in (0, 1], got {mfu}")
        return mfu, "given MFU"
    if throughput == "table15":
        return table15_mfu(size), f"Table 15's {size} row (GPU-hours / tokens)"
    return paper_mfu(), "the paper's 65B: 380 tokens/s/GPU on A100"


def plan_training(
    size: str,
    gpus: int = 2048,
    gpu: str = "a100-80gb",
    tp: int = 1,
    activation_checkpointing: str = "selective",
    mfu: float | None = None,
    micro_batch: int = 1,
    seq_len: int | None = None,
    tokens_per_gpu_s: float | None = None,
    throughput: str = "paper-65b",
) -> TrainingEstimate:
    """Estimate memory, time, energy and carbon of training `size` on `gpus` x `gpu`.

    Throughput, first given wins: ``tokens_per_gpu_s`` (measured on your hardware), ``mfu``,
    else ``throughput``: "paper-65b" (the 65B's 380 tokens/s/GPU as an MFU, for any size) or
    "table15" (the MFU Table 15 implies for this very size; 7b..65b only).
    """
    _check_plan_arguments(gpus, gpu, tp, mfu, tokens_per_gpu_s, throughput)
    preset = get_preset(size)
    spec = GPUS[gpu]
    args = preset.args
    seq = seq_len or args.max_seq_len
    n_params = count_parameters(args)
    fpt = flops_per_token(args, seq)
    rate, assumption = _assumed_mfu(size, fpt, spec, mfu, tokens_per_gpu_s, throughput)
    dp = gpus // tp
    memory = estimate_memory(args, n_params, dp, tp, activation_checkpointing, micro_batch, seq)
    tokens_per_gpu_s = spec.bf16_flops * rate / fpt
    seconds = preset.train_tokens / (tokens_per_gpu_s * gpus)
    gpu_hours = gpus * seconds / 3600
    mwh = gpu_hours * spec.power_w * PUE / 1e6
    batch_seqs = preset.batch_tokens // seq
    notes = []
    if batch_seqs % (dp * micro_batch):
        notes.append(
            f"the {batch_seqs}-sequence batch does not split evenly over {dp} data-parallel "
            f"ranks x micro batch {micro_batch}"
        )
    estimate = TrainingEstimate(
        size=size,
        gpu=spec,
        gpus=gpus,
        tp=tp,
        dp=dp,
        activation_checkpointing=activation_checkpointing,
        micro_batch=micro_batch,
        seq_len=seq,
        parameters=n_params,
        flops_per_token=fpt,
        train_tokens=preset.train_tokens,
        batch_tokens=preset.batch_tokens,
        mfu=rate,
        memory=memory,
        fits=memory.total <= spec.memory_gib * GIB,
        tokens_per_gpu_s=tokens_per_gpu_s,
        days=seconds / 86400,
        gpu_hours=gpu_hours,
        mwh=mwh,
        tco2=mwh * TCO2_PER_MWH,
        accumulation_steps=max(1, batch_seqs // (dp * micro_batch)),
        notes=notes,
        throughput_assumption=assumption,
    )
    if not estimate.fits:
        estimate.suggestion = suggest_mesh(args, n_params, gpus, spec, micro_batch, seq)
    return estimate


def suggest_mesh(
    args: ModelArgs, n_params: int, gpus: int, spec: GpuSpec, micro_batch: int, seq_len: int
) -> tuple[int, str, float] | None:
    """The least tensor parallelism (within a node of 8), then the least recomputation, that fits:
    (tp, activation checkpointing, GiB per GPU); None if nothing on this many GPUs fits."""
    for tp in (1, 2, 4, 8):
        if gpus % tp or args.n_heads % tp or args.kv_heads % tp:
            continue
        for mode in ("none", "selective", "full"):
            memory = estimate_memory(args, n_params, gpus // tp, tp, mode, micro_batch, seq_len)
            if memory.total <= spec.memory_gib * GIB:
                return tp, mode, memory.total / GIB
    return None


def energy_from_gpu_hours(gpu_hours: float, power_w: float = 400.0) -> tuple[float, float]:
    """(MWh, tCO2eq) of GPU-hours in Table 15's terms."""
    mwh = gpu_hours * power_w * PUE / 1e6
    return mwh, mwh * TCO2_PER_MWH


def render_plan(estimate: TrainingEstimate, console: Console) -> None:
    from rich.table import Table

    e = estimate
    table = Table(title=f"llamapipe train --size {e.size} --dry-run", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    m = e.memory
    rows = [
        ("parameters (meta device)", f"{e.parameters:,}"),
        ("FLOPs per token (6N + 12 L H d S)", f"{e.flops_per_token:.4g}"),
        ("hardware", f"{e.gpus} x {e.gpu.name} ({e.gpu.memory_gib:g} GiB, {e.gpu.power_w:g} W)"),
        ("mesh", f"data parallel {e.dp} x tensor parallel {e.tp} (FSDP2 + TP/SP)"),
        ("activation checkpointing", e.activation_checkpointing),
        (
            "batch",
            f"{e.batch_tokens:,} tokens = {e.batch_tokens // e.seq_len} x {e.seq_len}; micro "
            f"batch {e.micro_batch}, {e.accumulation_steps} accumulation step(s)",
        ),
        ("memory: sharded weights+grads+Adam", f"{m.sharded_state / GIB:.1f} GiB"),
        ("memory: gathered bf16 blocks", f"{m.gathered_weights / GIB:.1f} GiB"),
        ("memory: activations", f"{m.activations / GIB:.1f} GiB"),
        ("memory: loss", f"{m.loss / GIB:.1f} GiB"),
        ("memory: overhead", f"{m.overhead / GIB:.1f} GiB"),
        (
            "memory per GPU",
            f"{m.total / GIB:.1f} GiB of {e.gpu.memory_gib:g}: "
            + ("fits" if e.fits else "[red]DOES NOT FIT[/red]"),
        ),
        ("MFU", f"{100 * e.mfu:.1f}% ({e.throughput_assumption})"),
        ("throughput", f"{e.tokens_per_gpu_s:,.0f} tokens/s/GPU"),
        ("tokens", f"{e.train_tokens:,}"),
        ("time", f"{e.days:.1f} days"),
        ("GPU-hours", f"{e.gpu_hours:,.0f}"),
        ("energy (x PUE 1.1)", f"{e.mwh:,.0f} MWh"),
        ("carbon (0.385 t/MWh)", f"{e.tco2:,.0f} tCO2eq"),
    ]
    if e.size in PAPER_TABLE_15:
        hours, mwh, tco2 = PAPER_TABLE_15[e.size]
        rows.append(("paper, Table 15", f"{hours:,} GPU-hours, {mwh} MWh, {tco2} tCO2eq"))
        formula_mwh, formula_tco2 = energy_from_gpu_hours(hours, 400.0)
        rows.append(
            (
                "Table 15's formula on its GPU-hours",
                f"{formula_mwh:,.1f} MWh, {formula_tco2:,.1f} tCO2eq",
            )
        )
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if not e.fits:
        if e.suggestion is None:
            console.print(f"[red]No mesh with tp <= 8 fits on {e.gpus} GPUs; add GPUs.[/red]")
        else:
            tp, mode, gib = e.suggestion
            console.print(
                f"[yellow]Suggestion:[/yellow] --tp {tp} with activation checkpointing "
                f"'{mode}' needs ~{gib:.1f} GiB per GPU."
            )
    for note in e.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
