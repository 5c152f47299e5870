"""bench/proctree.py counts the CPU of processes the measured command never waits on.

A forkserver pool's workers are children of the forkserver, not of the main process; the
main process here even exits without joining them. The measured CPU must still include the
time they burned, which `RUSAGE_CHILDREN` of a plain parent (what /usr/bin/time reports)
misses.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap

import pytest

from bench import proctree

BURN = textwrap.dedent(
    """
    import multiprocessing as mp, os, sys, time

    def burn(seconds):
        start = time.process_time()
        x = 0
        while time.process_time() - start < seconds:
            x += 1
        return os.getpid()

    if __name__ == "__main__":
        pool = mp.get_context("forkserver").Pool(2)
        pids = set(pool.map(burn, [0.4] * 4, chunksize=1))
        print(len(pids))
        os._exit(0)  # leave the workers and the forkserver behind, unjoined
    """
)


@pytest.fixture()
def burn_script(tmp_path):
    path = tmp_path / "burn.py"
    path.write_text(BURN)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux prctl")
def test_counts_orphaned_forkserver_workers(burn_script):
    usage = proctree.measure([sys.executable, str(burn_script)])
    assert usage["returncode"] == 0
    assert usage["cpu_s"] >= 1.6 * 0.95  # 4 tasks x 0.4 s burned in the workers
    assert usage["workers_seen"] >= 1
    assert usage["peak_rss_total_bytes"] > usage["peak_rss_main_bytes"] > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux prctl")
def test_plain_parent_misses_them(burn_script):
    """The reason for proctree: a plain wait sees (almost) none of the workers' CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, str(burn_script)], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert seen < 1.0, f"plain wait saw {seen:.2f} s; the test no longer shows the problem"
    # the orphans are still running or just exited; give them a moment, don't leak them
    os.sched_yield()


SPIKE = textwrap.dedent(
    """
    import time
    block = bytearray(150 * 1024 * 1024)  # touched: zero-filled pages are resident
    del block
    time.sleep(0.6)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux pidfd and /proc")
def test_exit_seen_at_once_and_peak_rss_between_samples(tmp_path):
    """A 1 s sampling period neither pads the wall time to the next sample nor misses a
    memory spike that came and went between two samples (VmHWM is the kernel's peak)."""
    quick = proctree.measure([sys.executable, "-c", "pass"], interval=1.0)
    assert quick["returncode"] == 0 and quick["wall_s"] < 0.9
    spike = tmp_path / "spike.py"
    spike.write_text(SPIKE)
    usage = proctree.measure([sys.executable, str(spike)], interval=0.3)
    assert usage["returncode"] == 0
    assert usage["peak_rss_main_bytes"] >= 150 * 1024 * 1024
