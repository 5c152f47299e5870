"""Starting the local pool's forkserver early, before the driver's own imports are done.

A pool worker is forked by multiprocessing's forkserver, which first imports what it preloads
(numpy, pyarrow, pandas and the engine: about a second of CPU). Started when the first stage
submits its first shard, that second is spent while the driver waits; started as the command
begins, it overlaps the driver's imports and config validation on another core, so the
workers are ready when the first stage is. The CPU spent is the same either way.

This module is imported before anything heavy (llamapipe/launch.py): standard library only,
with llamapipe.errors and llamapipe.overrides (the same `--set` rules as the config loader).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from llamapipe.errors import ConfigError
from llamapipe.overrides import apply_overrides

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


def _overrides(argv: Sequence[str]) -> list[str]:
    """The command line's `--set` items, then its `--executor` / `--workers` flags as overrides
    (they win), in the order the CLI applies them (cli/common.py `load_cli_config`)."""
    items = [
        argv[i + 1] if arg == "--set" else arg.split("=", 1)[1]
        for i, arg in enumerate(argv)
        if (arg == "--set" and i + 1 < len(argv)) or arg.startswith("--set=")
    ]
    if (kind := _option(argv, "--executor")) is not None:
        items.append(f'executor.kind="{kind}"')
    if (workers := _option(argv, "--workers", "-w")) is not None:
        items.append(f"executor.workers={workers}")
    return items


def pool_workers_for_argv(argv: Sequence[str]) -> int:
    """How many pool workers this command line will use, read cheaply (TOML and `--set` only,
    no validation), or 0 when it runs no stages, uses another executor, or is unreadable: the
    CLI's own config loading stays the authority and reports any error. The defaults are
    ExecutorConfig's (config/run.py; tests/engine/test_pool_start.py pins them)."""
    words = [a for a in argv if not a.startswith("-")]
    if not any(tuple(words[: len(cmd)]) == cmd for cmd in STAGE_COMMANDS):
        return 0
    path = Path(_option(argv, "--config", "-c") or "pipeline.toml")
    try:
        data = apply_overrides(tomllib.loads(path.read_text(encoding="utf-8")), _overrides(argv))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError):
        return 0
    executor = data.get("executor", {})
    if not isinstance(executor, dict):
        return 0
    workers = executor.get("workers", os.cpu_count() or 1)
    if executor.get("kind", "pool") != "pool" or not isinstance(workers, int):
        return 0
    return workers if workers > 1 else 0


def start_early_for_argv(argv: Sequence[str]) -> bool:
    """Start the forkserver if this command line will use a pool of 2+ workers."""
    if os.environ.get(EARLY_ENV, "1") == "0" or pool_workers_for_argv(argv) == 0:
        return False
    start_forkserver()
    return True
