"""bench/machine_ceiling.py measures parallelism: one CPU gives two processes no speedup."""

from __future__ import annotations

import os
import statistics
from contextlib import closing

import pytest

from bench.machine_ceiling import CeilingProbe

needs_affinity = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity (Linux)"
)


@needs_affinity
def test_one_cpu_gives_no_speedup_two_give_some() -> None:
    cpus = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cpus)})  # the probe's processes inherit it
        with closing(CeilingProbe(loop=1_500_000)) as probe:
            pinned = statistics.median(probe.measure() for _ in range(3))
    finally:
        os.sched_setaffinity(0, cpus)
    assert 0.7 < pinned < 1.25
    if len(cpus) >= 2:
        with closing(CeilingProbe(loop=1_500_000)) as probe:
            free = statistics.median(probe.measure() for _ in range(3))
        assert free > pinned + 0.15
