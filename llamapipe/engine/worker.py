"""The function every executor runs for one shard, on whatever machine it lands.

It processes the shard into a private temp dir, moves each output into place with an atomic
rename, and writes the completion marker last. A worker killed at any point leaves either no
marker (the shard is redone from scratch) or a marker whose outputs are all in place.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamapipe.engine.spec import Counters, ShardContext, ShardSpec
from llamapipe.engine.state import TMP_DIR, marker_path, write_json_atomic
from llamapipe.io.artifacts import verify_written
from llamapipe.io.diskfull import disk_full_error, is_disk_full

FAULT_ENV = "LLAMAPIPE_FAULT_KILL"


@dataclass
class ShardTask:
    """A picklable description of one shard's work (the function travels by reference)."""

    stage_name: str
    stage_dir: str
    run_dir: str
    config: Any  # a StageConfig dataclass (engine/stage_config.py) or a plain dict
    process: Callable[[ShardContext], None]
    shard: ShardSpec
    fingerprint: str
    seed: int
    strict: bool
    attempt: int = 0


@dataclass
class ShardOutcome:
    """What comes back from a worker: never an exception object, which may not unpickle."""

    index: int
    ok: bool
    counters: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    traceback: str = ""


def run_shard_task(task: ShardTask) -> ShardOutcome:
    start = time.perf_counter()
    stage_dir = Path(task.stage_dir)
    tmp_dir = stage_dir / TMP_DIR / f"{task.shard.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    counters = Counters(strict=task.strict)
    try:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        ctx = ShardContext(
            shard=task.shard,
            stage_name=task.stage_name,
            stage_dir=stage_dir,
            run_dir=Path(task.run_dir),
            tmp_dir=tmp_dir,
            config=task.config,
            seed=task.seed,
            strict=task.strict,
            counters=counters,
        )
        task.process(ctx)
        _maybe_inject_fault(task, "before_commit")
        outputs = _commit_outputs(tmp_dir, stage_dir)
        _maybe_inject_fault(task, "before_marker")
        seconds = time.perf_counter() - start
        write_json_atomic(
            marker_path(stage_dir, task.shard.name),
            {
                "index": task.shard.index,
                "fingerprint": task.fingerprint,
                "inputs": list(task.shard.inputs),
                "params": task.shard.params,
                "outputs": outputs,
                "counters": counters.to_dict(),
                "seconds": round(seconds, 3),
                "host": socket.gethostname(),
                "attempt": task.attempt,
            },
        )
        return ShardOutcome(task.shard.index, True, counters.to_dict(), seconds)
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which decides
        if isinstance(exc, KeyboardInterrupt):
            raise
        if is_disk_full(exc):  # one line naming where, not "[Errno 28]" without a path
            exc = disk_full_error(tmp_dir, exc)  # type: ignore[arg-type]
        return ShardOutcome(
            task.shard.index,
            False,
            counters.to_dict(),
            time.perf_counter() - start,
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _maybe_inject_fault(task: ShardTask, point: str) -> None:
    """SIGKILL this process at a chosen point, so tests can prove kill-and-resume safety.

    Set LLAMAPIPE_FAULT_KILL="<stage name>:<shard index>:<before_commit|before_marker>"; the
    variable is read only here and does nothing when unset.
    """
    fault = os.environ.get(FAULT_ENV)
    if not fault:
        return
    stage, index, where = fault.rsplit(":", 2)
    if stage == task.stage_name and int(index) == task.shard.index and where == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _commit_outputs(tmp_dir: Path, stage_dir: Path) -> list[str]:
    """Move every file of the temp dir to the same relative path in the stage dir, each
    fsynced and re-opened first (llamapipe.io.artifacts), so a file cut short by a full disk
    fails the shard instead of being marked done."""
    outputs: list[str] = []
    files = sorted(p for p in tmp_dir.rglob("*") if p.is_file())
    for path in files:
        verify_written(path)
    for path in files:
        rel = path.relative_to(tmp_dir)
        target = stage_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        outputs.append(str(rel))
    return outputs
