"""The code sandbox: HumanEval's canonical solutions pass, hostile completions are contained
and fail, and nothing they start outlives the run. pass@k is the unbiased estimator."""

from __future__ import annotations

import json
import math
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from llamapipe.evaluation.code_tasks import pass_at_k, program_for, run_completions
from llamapipe.evaluation.sandbox import SandboxLimits, launcher, run_program
from llamapipe.evaluation.task_schemas import code_item

FAST = SandboxLimits(wall_s=4, cpu_s=2, memory_bytes=512 * 2**20)


def _items(realdata: Path, n: int | None = None):
    lines = (realdata / "eval" / "llmfoundry_human_eval_first40.jsonl").read_text().splitlines()
    return [code_item(json.loads(line), i + 1) for i, line in enumerate(lines[:n])]


def _sandbox_processes() -> list[psutil.Process]:
    """Live processes whose working folder is one of the sandbox's temporary folders."""
    prefix = os.path.join(os.path.realpath(tempfile.gettempdir()), "llamapipe-sandbox-")
    found = []
    for process in psutil.process_iter():
        try:
            if process.cwd().startswith(prefix):
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.mark.slow
def test_canonical_solutions_all_pass(realdata: Path) -> None:
    items = _items(realdata)
    passed = run_completions(items, [[item.canonical_solution] for item in items], FAST)
    assert [row[0] for row in passed] == [True] * 40
    # A wrong body fails its tests.
    wrong = run_completions(items[:3], [["    return None\n"]] * 3, FAST)
    assert wrong == [[False]] * 3


class _Listener:
    """A TCP server on 127.0.0.1 that records whether anyone connected (stops by itself)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connected = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connected = True
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.mark.slow
def test_hostile_completions_are_contained_and_fail(tmp_path: Path) -> None:
    outside = tmp_path / "escaped.txt"
    listener = _Listener()
    hostile = {
        "infinite loop": "while True:\n    pass\n",
        "sleeping forever": "import time\nwhile True:\n    time.sleep(0.5)\n",
        "fork bomb": "import os\nwhile True:\n    os.fork()\n",
        "memory bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))\n",
        "file outside": f"open({str(outside)!r}, 'w').write('escaped')\n",
        "subprocess": f"import subprocess\nsubprocess.run(['touch', {str(outside)!r}])\n",
        "network": f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}))\n",
        "early exit": "import sys\nsys.exit(0)\n",
    }
    try:
        results = {name: run_program(code, FAST) for name, code in hostile.items()}
    finally:
        listener.close()
    for name, result in results.items():
        assert not result.passed, name
    assert results["infinite loop"].status in ("timeout", "failed")  # wall clock or CPU limit
    assert results["sleeping forever"].status == "timeout"
    assert "os.fork" in results["fork bomb"].stderr_tail
    assert "MemoryError" in results["memory bomb"].stderr_tail
    assert "outside the work folder" in results["file outside"].stderr_tail
    assert not outside.exists()
    assert not listener.connected
    assert _sandbox_processes() == []
    assert run_program("print('fine')\n", FAST).passed


def test_os_limits_contain_without_the_audit_hook(tmp_path: Path) -> None:
    """What the kernel enforces by itself: the network namespace, process and memory limits,
    the process-group kill. (The audit hook is the only guard for file writes as uid != nobody.)"""
    how = launcher()
    checks = {}
    if how.prefix:
        listener = _Listener()
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), 2)\n"
        try:
            checks["network"] = run_program(code, FAST, guard=False)
        finally:
            listener.close()
        assert not listener.connected
        assert "Network is unreachable" in checks["network"].stderr_tail or (
            "refused" in checks["network"].stderr_tail
        )
    bomb = (
        "import os, time\n"
        "for _ in range(10000):\n"
        "    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.05)\n"
    )
    checks["fork bomb"] = run_program(bomb, SandboxLimits(wall_s=3, cpu_s=2), guard=False)
    checks["memory"] = run_program("x = bytearray(2 * 2**30)\n", FAST, guard=False)
    assert "MemoryError" in checks["memory"].stderr_tail
    for name, result in checks.items():
        assert not result.passed, name
    time.sleep(0.2)
    assert _sandbox_processes() == []


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    for n, c, k in [(10, 3, 1), (10, 3, 5), (20, 0, 3), (5, 5, 2), (200, 7, 100)]:
        exact = 1 - math.comb(n - c, k) / math.comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_program_layout(realdata: Path) -> None:
    item = _items(realdata, 1)[0]
    program = program_for(item, "    return []\n")
    assert program.startswith(item.prompt + "    return []\n")
    assert program.rstrip().endswith(f"check({item.entry_point})")
