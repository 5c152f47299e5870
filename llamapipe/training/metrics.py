"""Per-step training metrics: metrics.jsonl, a live rich display, optional TensorBoard.

MFU = achieved model FLOP/s / peak FLOP/s of the devices, with model FLOPs per token
6 N + 12 L H d_head S (llamapipe.model.presets.flops_per_token; N excludes the embedding
lookup; recomputation by activation checkpointing is not counted, as in PaLM's definition).
The peak is a GPU's data-sheet dense rate, or on CPU one core's best measured matmul rate times
the cores the process uses (measure_matmul_peak).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import torch

#: Dense bf16 peak FLOP/s by GPU name fragment (vendor data sheets).
GPU_PEAK_FLOPS = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "A10G": 125e12,
    "L4": 121e12,
    "V100": 125e12,
}


#: One core's peak is measured with single-thread square matmuls of this size: large enough for
#: the BLAS kernel to run at full speed (fp32 and AMX bf16), short enough (a few ms) that one of
#: many tries lands in a moment when no other process holds the core.
PEAK_MATMUL_SIZE = 512
PEAK_MATMUL_TRIES = 40

_CORE_PEAK: dict[torch.dtype, float] = {}


def measure_core_peak(
    dtype: torch.dtype = torch.float32,
    size: int = PEAK_MATMUL_SIZE,
    tries: int = PEAK_MATMUL_TRIES,
) -> float:
    """FLOP/s of one CPU core: the fastest of `tries` single-thread size^3 matmuls.

    Other processes can only slow a try down, never speed it up, so the best try is the closest
    to the hardware's rate. One thread needs only one free core at a time, where a multi-thread
    matmul is slowed by whichever core is busiest: on a shared machine a whole-CPU measurement
    reads low (it read 122 GFLOP/s on a 2-core machine that does 330) and MFU high.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = torch.randn(size, size, dtype=dtype)
        b = torch.randn(size, size, dtype=dtype)
        out = torch.empty(size, size, dtype=dtype)
        torch.mm(a, b, out=out)  # warm-up: kernel selection, page faults
        best = float("inf")
        for _ in range(tries):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return 2.0 * size**3 / best


def usable_cores() -> int:
    """CPU cores this process's matmuls can use: its torch threads, capped by its share of the
    CPUs it may run on (torchrun starts LOCAL_WORLD_SIZE processes on each host)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, min(torch.get_num_threads(), cpus // local_processes))


def measure_matmul_peak(dtype: torch.dtype = torch.float32) -> float:
    """Peak matmul FLOP/s of this process on CPU: one core's measured peak x usable cores.

    The per-core peak is measured once per process and dtype (about 0.1 s when the machine is
    quiet) and reused. Big matmuls scale linearly with cores (330 GFLOP/s fp32 on 2 cores of
    this machine, 2 x 165 on one), so the product is the rate the whole CPU reaches when idle.
    """
    if dtype not in _CORE_PEAK:
        _CORE_PEAK[dtype] = measure_core_peak(dtype)
    return _CORE_PEAK[dtype] * usable_cores()


def device_peak_flops(device: torch.device, precision: str) -> float:
    """Peak FLOP/s of one device: the GPU's data sheet or this CPU's measured matmul rate."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for fragment, flops in GPU_PEAK_FLOPS.items():
            if fragment in name:
                return flops if precision == "bf16" else flops / 2
        return 312e12
    return measure_matmul_peak(torch.bfloat16 if precision == "bf16" else torch.float32)


def memory_gib(device: torch.device) -> float:
    """Peak memory of this process: CUDA allocator peak on GPU, max RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


class MetricsLogger:
    """Writes one JSON line per logged step (rank 0 only) and shows progress."""

    def __init__(
        self,
        path: Path,
        total_steps: int,
        display: str = "auto",
        tensorboard_dir: Path | None = None,
        start_step: int = 0,
    ) -> None:
        self.path = path
        self.total_steps = total_steps
        path.parent.mkdir(parents=True, exist_ok=True)
        _truncate_after(path, start_step)
        self._file = path.open("a")
        if display == "auto":
            display = "rich" if sys.stdout.isatty() else "plain"
        self.display = display
        self._live = None
        self._progress = None
        if display == "rich":
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                TextColumn("step {task.completed}/{task.total}"),
                TextColumn("{task.fields[summary]}"),
                TimeRemainingColumn(),
            )
            self._task = self._progress.add_task(
                "train", total=total_steps, completed=start_step, summary=""
            )
            self._progress.start()
        self._tb = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise RuntimeError(
                    "train.tensorboard = true needs the tensorboard package "
                    "(pip install tensorboard)"
                ) from exc
            self._tb = SummaryWriter(str(tensorboard_dir))

    def log(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        summary = (
            f"loss {record['loss']:.4f}  lr {record['lr']:.2e}  gnorm {record['grad_norm']:.3f}  "
            f"{record['tokens_per_s']:,.0f} tok/s  MFU {100 * record['mfu']:.1f}%  "
            f"mem {record['memory_gib']:.2f} GiB"
        )
        if self._progress is not None:
            self._progress.update(self._task, completed=record["step"], summary=summary)
        elif self.display == "plain":
            print(f"step {record['step']}/{self.total_steps}  {summary}", flush=True)
        if self._tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, int | float):
                    self._tb.add_scalar(f"train/{key}", value, record["step"])

    def close(self) -> None:
        self._file.close()
        if self._progress is not None:
            self._progress.stop()
        if self._tb is not None:
            self._tb.close()


def _truncate_after(path: Path, step: int) -> None:
    """On resume, drop records of steps after the checkpoint (they will be redone)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = []
    for line in lines:
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
    if len(kept) != len(lines):
        path.write_text("".join(line + "\n" for line in kept))
