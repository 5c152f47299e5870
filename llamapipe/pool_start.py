"""Starting the local pool's forkserver early, before the driver's own imports are done.

A pool worker is forked by multiprocessing's forkserver, which first imports what it preloads
(numpy, pyarrow, pandas and the engine: about a second of CPU). Started when the first stage
submits its first shard, that second is spent while the driver waits; started as the command
begins, it overlaps the driver's imports and config validation on another core, so the
workers are ready when the first stage is. The CPU spent is the same either way.

This module is imported before anything heavy (llamapipe/launch.py): standard library only.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Imported once by the forkserver, before it forks any worker, so that each worker starts with
#: numpy, pyarrow and the engine already loaded instead of importing them itself. None of them
#: reads the environment at import time, so workers still take the driver's environment
#: (engine/executors.py `_adopt_environment`). pandas is there for pyarrow: its first
#: conversion of a Python list in a process imports pandas, when installed, to check for pandas
#: objects (0.5 s of CPU in every worker that writes Parquet); preloaded, that check finds it
#: loaded. The forkserver skips a module that is not installed.
FORKSERVER_PRELOAD = ("llamapipe.engine.worker", "pandas", "pyarrow.pandas_compat")
#: `LLAMAPIPE_POOL_PRELOAD=0` turns preloading off (a benchmark's baseline, or a module that
#: misbehaves when imported before a fork); `LLAMAPIPE_POOL_EARLY=0` keeps the forkserver from
#: starting before the first stage.
PRELOAD_ENV = "LLAMAPIPE_POOL_PRELOAD"
EARLY_ENV = "LLAMAPIPE_POOL_EARLY"
#: The commands that run stages on the configured executor.
STAGE_COMMANDS = (("data", "build"), ("tokenize",), ("run",))


def preload_modules(extra: Iterable[str] = ()) -> list[str]:
    """FORKSERVER_PRELOAD plus `extra` (llamapipe modules), or nothing when turned off."""
    if os.environ.get(PRELOAD_ENV, "1") == "0":
        return []
    return list(dict.fromkeys([*FORKSERVER_PRELOAD, *extra]))


def start_forkserver(extra: Iterable[str] = ()) -> None:
    """Start the forkserver now (it then imports on its own, in parallel with this process).
    A no-op once it runs: its preload list is fixed at start."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload_modules(extra))
    multiprocessing.forkserver.ensure_running()


def _option(argv: Sequence[str], *names: str) -> str | None:
    """The last value of a `--name value` / `--name=value` / `-n value` option in argv."""
    value = None
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(name + "=") and name.startswith("--"):
                value = arg.split("=", 1)[1]
    return value


def _set_overrides(argv: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for i, arg in enumerate(argv):
        text = argv[i + 1] if arg == "--set" and i + 1 < len(argv) else None
        if arg.startswith("--set="):
            text = arg.split("=", 1)[1]
        if text and "=" in text:
            key, value = text.split("=", 1)
            found[key.strip()] = value.strip().strip("\"'")
    return found


def pool_workers_for_argv(argv: Sequence[str]) -> int:
    """How many pool workers this command line will use, read cheaply (TOML only, no
    validation), or 0 when it runs no stages, uses another executor, or is unreadable: the
    CLI's own config loading stays the authority and reports any error."""
    words = [a for a in argv if not a.startswith("-")]
    if not any(tuple(words[: len(cmd)]) == cmd for cmd in STAGE_COMMANDS):
        return 0
    path = Path(_option(argv, "--config", "-c") or "pipeline.toml")
    try:
        executor = tomllib.loads(path.read_text(encoding="utf-8")).get("executor", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return 0
    if not isinstance(executor, dict):
        return 0
    overrides = _set_overrides(argv)
    kind = _option(argv, "--executor") or overrides.get("executor.kind")
    kind = kind or str(executor.get("kind", "pool"))
    workers = _option(argv, "--workers", "-w") or overrides.get("executor.workers")
    try:
        count = int(workers or executor.get("workers") or os.cpu_count() or 1)
    except (TypeError, ValueError):
        return 0
    return count if kind == "pool" and count > 1 else 0


def start_early_for_argv(argv: Sequence[str]) -> bool:
    """Start the forkserver if this command line will use a pool of 2+ workers."""
    if os.environ.get(EARLY_ENV, "1") == "0" or pool_workers_for_argv(argv) == 0:
        return False
    start_forkserver()
    return True
