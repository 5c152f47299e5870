"""The CPU peak behind MFU: one core's measured matmul rate times the cores a process may use."""

from __future__ import annotations

import math

import pytest
import torch

from llamapipe.model import flops_per_token, get_preset
from llamapipe.training import metrics


def test_core_peak_is_a_finite_rate_and_restores_the_thread_count() -> None:
    threads = torch.get_num_threads()
    rate = metrics.measure_core_peak(torch.float32, size=64, tries=3)
    assert math.isfinite(rate) and rate > 0
    assert torch.get_num_threads() == threads


def test_usable_cores_is_the_process_share_of_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(metrics.torch, "get_num_threads", lambda: 8)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert metrics.usable_cores() == 4  # 8 threads cannot use more than 4 CPUs
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert metrics.usable_cores() == 2  # two processes on the host share them
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert metrics.usable_cores() == 1
    monkeypatch.setattr(metrics.torch, "get_num_threads", lambda: 1)
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert metrics.usable_cores() == 1


def test_matmul_peak_is_measured_once_and_scaled_by_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    def fake_core_peak(dtype: torch.dtype) -> float:
        calls.append(dtype)
        return 100e9

    monkeypatch.setattr(metrics, "_CORE_PEAK", {})
    monkeypatch.setattr(metrics, "measure_core_peak", fake_core_peak)
    monkeypatch.setattr(metrics, "usable_cores", lambda: 2)
    assert metrics.measure_matmul_peak(torch.float32) == 200e9
    assert metrics.measure_matmul_peak(torch.float32) == 200e9
    assert metrics.device_peak_flops(torch.device("cpu"), "bf16") == 200e9
    assert calls == [torch.float32, torch.bfloat16]


def test_demo_flops_per_token_counts_every_matmul_weight() -> None:
    # demo preset with the demo tokenizer's 4000 pieces: dim 256, 4 layers, SwiGLU 704, seq 256.
    args = get_preset("demo").with_vocab(4000).args
    per_layer = 4 * 256 * 256 + 3 * 256 * 704
    n = 4 * per_layer + 256 * 4000  # blocks + output projection (norm gains: 9 * 256)
    expected = 6 * (n + 9 * 256) + 12 * 4 * 4 * 64 * 256
    assert flops_per_token(args, 256) == expected
