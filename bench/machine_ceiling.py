"""What two processes get from this machine: the ceiling a 2-worker speedup is measured against.

The same pure-Python loop (no I/O, no allocation, no shared data), twice on two processes at
once and twice on one process in turn: serial wall / parallel wall is the speedup a perfectly
parallel job could show at that moment. On a VM whose two vCPUs share a host core or a busy
host it is well under 2 and it moves from minute to minute, so bench_scale.py probes it beside
every pair of its runs and reports the pairs' speedups next to it.
"""

from __future__ import annotations

import multiprocessing
import time

#: Loop iterations per task: ~0.3-0.5 s on the 2-core development machine.
LOOP = 6_000_000


def spin(n: int) -> int:
    """CPU only: a loop of integer arithmetic on locals."""
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


class CeilingProbe:
    """Two spawned processes kept for the whole benchmark; `measure()` is one probe, `close()`
    ends them (`contextlib.closing` for a `with` block)."""

    def __init__(self, loop: int = LOOP) -> None:
        self.loop = loop
        self._pool = multiprocessing.get_context("spawn").Pool(2)
        self._pool.map(spin, [1000, 1000], chunksize=1)  # both started before the first probe

    def measure(self) -> float:
        """Serial wall / parallel wall of the same two tasks (both run in the pool's
        processes, so start-up costs neither side)."""
        start = time.perf_counter()
        self._pool.map(spin, [self.loop, self.loop], chunksize=1)
        parallel = time.perf_counter() - start
        start = time.perf_counter()
        self._pool.apply(spin, (self.loop,))
        self._pool.apply(spin, (self.loop,))
        serial = time.perf_counter() - start
        return serial / parallel

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()
