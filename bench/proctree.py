"""Wall time, CPU time and memory of a command's whole process tree.

`/usr/bin/time` and `RUSAGE_CHILDREN` of a plain parent miss CPU of processes nobody waits on:
the pool's workers are forked by multiprocessing's forkserver, which is itself orphaned when
the main process exits, so their time never reaches the caller. Here the measuring process
makes itself a *child subreaper* (Linux `prctl(PR_SET_CHILD_SUBREAPER)`): every descendant
whose parent exits is re-parented to it instead of to init, and it reaps them all. The kernel
then adds each reaped process's user+system time (with that of everything it had reaped) to
the measurer's `RUSAGE_CHILDREN`, so the total is exact, whoever forked whom. The measurer
has no other children, and its own sampling loop is not in that figure.

Every `--interval` seconds the measurer samples all live descendants: each one's peak RSS is
the kernel's own high-water mark (`VmHWM`, exact up to the last sample), the peak of the RSS sum
over processes is sampled (RSS counts shared pages once per process; the PSS sum, which splits
them, is sampled every `PSS_EVERY` samples: reading smaps is the costly part). The measurer
sleeps on a pidfd of the command, so the command's exit ends the wall time at once (not at the
next sample), and sampling stays cheap (~3 ms CPU for five processes, ~9 before): with as many busy
workers as cores, the measurer's CPU is taken from them. Processes are labelled "main" (the
command), "forkserver", "worker" (a forkserver's or the main process's child doing the work) or
"other" (e.g. multiprocessing's resource tracker).

CLI: ``python bench/proctree.py --json out.json -- cmd args...`` (the command's output passes
through). Library: `measure(cmd, env=..., cwd=...)` runs that CLI and returns its JSON dict.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

PR_SET_CHILD_SUBREAPER = 36
#: After the command exits, its orphans get this long to finish before being terminated.
ORPHAN_GRACE_S = 60.0
#: PSS (smaps_rollup: the kernel walks every mapping) is read at every this many samples.
PSS_EVERY = 5


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed (Linux only)")


def _proc_kb_field(path: str, field: str) -> int:
    """Bytes of a `Field:  N kB` line of a /proc file (0 where unreadable or absent)."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _hwm(pid: int) -> int:
    """Peak RSS so far (the kernel's high-water mark)."""
    return _proc_kb_field(f"/proc/{pid}/status", "VmHWM:")


def _pss(pid: int) -> int:
    """Proportional set size (smaps_rollup: costly, a walk of every mapping)."""
    return _proc_kb_field(f"/proc/{pid}/smaps_rollup", "Pss:")


class _Tracker:
    """Per-process peaks and last-seen CPU of every descendant, sampled."""

    def __init__(self, main_pid: int) -> None:
        self.main_pid = main_pid
        self.procs: dict[int, dict[str, Any]] = {}
        self.peak_rss_total = 0
        self.peak_pss_total = 0
        self.samples = 0
        self.max_live = 0

    def _role(self, proc: psutil.Process, ppid: int, cmd: str) -> str:
        if proc.pid == self.main_pid:
            return "main"
        if "forkserver" in cmd and ppid == self.main_pid:
            return "forkserver"
        if "resource_tracker" in cmd or "semaphore_tracker" in cmd:
            return "other"
        parent = self.procs.get(ppid)
        if parent is not None and parent["role"] in ("forkserver", "main"):
            return "worker"
        return "other"

    def sample(self) -> None:
        me = psutil.Process()
        rss_total = pss_total = live = 0
        try:
            kids = me.children(recursive=True)
        except psutil.Error:
            return
        for proc in kids:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    cpu = proc.cpu_times()
                    entry = self.procs.get(proc.pid)
                    if entry is None:
                        ppid = proc.ppid()
                        cmd = " ".join(proc.cmdline())[:200]
                        entry = self.procs[proc.pid] = {
                            "pid": proc.pid,
                            "ppid": ppid,
                            "cmd": cmd,
                            "role": self._role(proc, ppid, cmd),
                            "peak_rss_bytes": 0,
                            "peak_pss_bytes": 0,
                            "sampled_cpu_s": 0.0,
                        }
            except psutil.Error:
                continue
            entry["peak_rss_bytes"] = max(entry["peak_rss_bytes"], rss, _hwm(proc.pid))
            if self.samples % PSS_EVERY == 0:
                pss = _pss(proc.pid)
                entry["peak_pss_bytes"] = max(entry["peak_pss_bytes"], pss)
                pss_total += pss
            entry["sampled_cpu_s"] = cpu.user + cpu.system
            rss_total += rss
            live += 1
        self.peak_rss_total = max(self.peak_rss_total, rss_total)
        self.peak_pss_total = max(self.peak_pss_total, pss_total)
        self.max_live = max(self.max_live, live)
        self.samples += 1


def _exit_waiter(pid: int) -> Callable[[float], None]:
    """A wait of at most `timeout` s that returns as soon as `pid` exits (a pidfd: Linux 5.3+,
    Python 3.9+), so that the exit is seen at once rather than at the next sample; a plain
    sleep where pidfds are missing."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return time.sleep

    def wait(timeout: float) -> None:
        select.select([fd], [], [], timeout)

    return wait


def _reap(block: bool) -> list[tuple[int, int]]:
    """Reap finished children (ours and adopted orphans): [(pid, status)]."""
    out = []
    while True:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return out
        if pid == 0:
            return out
        out.append((pid, status))
        block = False


def run_measured(cmd: list[str], interval: float) -> dict[str, Any]:
    """Run `cmd` (stdout/stderr inherited), reap its whole tree, return the measurements."""
    _become_subreaper()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, start_new_session=True)
    exited = _exit_waiter(proc.pid)
    tracker = _Tracker(proc.pid)
    rc: int | None = None
    main_end = None
    while True:
        tracker.sample()
        for pid, status in _reap(block=False):
            if pid == proc.pid:
                rc = os.waitstatus_to_exitcode(status)
                proc.returncode = rc
                main_end = time.perf_counter()
        if rc is not None:
            try:
                alive = psutil.Process().children(recursive=True)
            except psutil.Error:
                alive = []
            if not alive:
                _reap(block=False)
                break
            if time.perf_counter() - main_end > ORPHAN_GRACE_S:
                for child in alive:
                    try:
                        child.send_signal(signal.SIGTERM)
                    except psutil.Error:
                        pass
                _reap(block=True)
                break
        if rc is None:
            exited(interval)
        else:
            time.sleep(interval)
    end = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    procs = sorted(tracker.procs.values(), key=lambda p: p["pid"])
    workers = [p for p in procs if p["role"] == "worker"]
    main = [p for p in procs if p["role"] == "main"]
    return {
        "cmd": cmd,
        "returncode": rc,
        "wall_s": round((main_end or end) - start, 4),
        "wall_with_orphans_s": round(end - start, 4),
        "cpu_s": round(user + system, 4),
        "user_s": round(user, 4),
        "system_s": round(system, 4),
        "sampled_cpu_s": round(sum(p["sampled_cpu_s"] for p in procs), 4),
        "peak_rss_total_bytes": tracker.peak_rss_total,
        "peak_pss_total_bytes": tracker.peak_pss_total,
        "peak_rss_main_bytes": main[0]["peak_rss_bytes"] if main else 0,
        "peak_rss_worker_max_bytes": max((p["peak_rss_bytes"] for p in workers), default=0),
        "workers_seen": len(workers),
        "processes_seen": len(procs),
        "max_live_processes": tracker.max_live,
        "samples": tracker.samples,
        "interval_s": interval,
        "loadavg_at_start": [round(x, 2) for x in load],
        "processes": procs,
    }


def measure(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    interval: float = 0.1,
    quiet: bool = True,
) -> dict[str, Any]:
    """Measure `cmd` in a fresh measuring process (this module as a script, which must have
    no other children) and return its JSON. The command's output is discarded when `quiet`,
    except that its stderr tail is returned under "stderr_tail" for error messages."""
    with tempfile.TemporaryDirectory(prefix="proctree-") as tmp:
        out = Path(tmp) / "usage.json"
        err = Path(tmp) / "stderr.txt"
        with open(err, "wb") as err_f:
            subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--json",
                    str(out),
                    "--interval",
                    str(interval),
                    "--",
                    *cmd,
                ],
                env=env,
                cwd=cwd,
                stdout=subprocess.DEVNULL if quiet else None,
                stderr=err_f if quiet else None,
                check=False,
            )
        if not out.exists():
            raise RuntimeError(f"proctree: no measurement for {cmd[:3]}: {err.read_text()[-500:]}")
        result = json.loads(out.read_text())
        result["stderr_tail"] = err.read_text(errors="replace")[-2000:] if quiet else ""
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", required=True, help="where to write the measurements")
    parser.add_argument("--interval", type=float, default=0.1, help="memory sampling period (s)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command args...")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")
    result = run_measured(cmd, args.interval)
    Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
