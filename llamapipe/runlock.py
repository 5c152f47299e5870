"""One command at a time per run directory: an advisory lock on <run dir>/.llamapipe.lock.

Two commands writing one run dir at once corrupt it (one deletes the other's in-flight shard
folders, two trainers interleave metrics.jsonl), so every command that writes the run dir holds
an exclusive flock(2) on this file for its whole duration. The kernel drops the lock when the
holding process dies, however it dies: there is no stale lock to clean up after a kill. The
file's content (pid, host, command line, start time) only serves the message of the command
that finds the lock taken.

The lock is re-entrant within a process (`llamapipe run` holds it and then calls training,
which takes it too) and is taken by the driver process only: pool workers are started by a
forkserver and never inherit it; under torchrun only global rank 0 takes it (trainer.py).
flock works across NFS clients on Linux (it is emulated with POSIX locks), but not on every
network file system: see the README, "One run at a time".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from llamapipe.errors import LlamapipeError

LOCK_FILE = ".llamapipe.lock"


class RunDirLocked(LlamapipeError):
    """Another process holds the run directory's lock (and --wait was not given)."""

    exit_code = 3


class RunDirUnusable(LlamapipeError):
    """The run directory cannot be created or its lock file cannot be opened (permissions)."""

    exit_code = 1


#: The lock files this process holds (real path -> descriptor): a nested take is a no-op.
_HELD: dict[str, int] = {}


def command_line() -> str:
    """The command as a user would type it, for the holder record."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("__main__.py", "/llamapipe")):
        argv[0] = "llamapipe"
    return shlex.join(argv)


def read_holder(run_dir: Path) -> dict[str, object]:
    """The holder record of run_dir's lock file ({} when absent or not yet written)."""
    try:
        return json.loads((Path(run_dir) / LOCK_FILE).read_text(encoding="utf-8") or "{}")
    except (OSError, json.JSONDecodeError):
        return {}


def _describe(holder: dict[str, object]) -> str:
    if not holder.get("pid"):
        return "another process"
    since = holder.get("started_at", "")
    return (
        f"pid {holder['pid']} on {holder.get('host', '?')} (`{holder.get('command', '?')}`, "
        f"since {since})"
    )


def _open(run_dir: Path) -> int:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        return os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RunDirUnusable(
            f"{run_dir}: cannot use the run directory ({exc.strerror or exc})"
        ) from None


def _write_holder(fd: int, command: str) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)


@contextlib.contextmanager
def hold_run_dir(
    run_dir: Path | str,
    *,
    wait: bool = False,
    command: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold run_dir's lock for the `with` block.

    Taken: wait for it (`wait`, telling `on_wait` once whom we wait for) or raise RunDirLocked
    naming the holder.
    """
    run_dir = Path(run_dir).absolute()
    key = os.path.realpath(run_dir / LOCK_FILE)
    if key in _HELD:  # this process already holds it (a command inside a command)
        yield
        return
    fd = _open(run_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe(_read_holder_soon(run_dir))
        if not wait:
            os.close(fd)
            raise RunDirLocked(
                f"{run_dir} is in use by {holder}; wait for it to finish or pass --wait"
            ) from None
        if on_wait is not None:
            on_wait(f"{run_dir} is in use by {holder}; waiting for it to finish")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
    _HELD[key] = fd
    try:
        _write_holder(fd, command or command_line())
        yield
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the only descriptor releases the flock


def _read_holder_soon(run_dir: Path) -> dict[str, object]:
    """The holder writes its record right after locking: give it a moment to appear."""
    for _ in range(20):
        holder = read_holder(run_dir)
        if holder:
            return holder
        time.sleep(0.01)
    return {}
