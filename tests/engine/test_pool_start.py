"""The forkserver started as the command begins (llamapipe/pool_start.py, llamapipe/launch.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llamapipe.pool_start import EARLY_ENV, pool_workers_for_argv
from tests.engine.conftest import cli, write_config


def _config(tmp_path: Path, executor: str) -> str:
    path = tmp_path / "pipeline.toml"
    path.write_text(f'[run]\ndir = "run"\n{executor}\n', encoding="utf-8")
    return str(path)


def test_workers_are_read_from_the_config_and_the_flags(tmp_path: Path) -> None:
    cfg = _config(tmp_path, '[executor]\nkind = "pool"\nworkers = 3')
    assert pool_workers_for_argv(["data", "build", "-c", cfg]) == 3
    assert pool_workers_for_argv(["--debug", "tokenize", f"--config={cfg}"]) == 3
    assert pool_workers_for_argv(["run", "-c", cfg, "--workers", "4"]) == 4
    assert pool_workers_for_argv(["run", "-c", cfg, "--set", "executor.workers=2"]) == 2
    # one worker runs in-process, other executors start no forkserver
    assert pool_workers_for_argv(["data", "build", "-c", cfg, "-w", "1"]) == 0
    assert pool_workers_for_argv(["data", "build", "-c", cfg, "--executor", "ray"]) == 0
    assert pool_workers_for_argv(["tokenize", "-c", cfg, "--set", 'executor.kind="inprocess"']) == 0
    # commands that run no stages
    assert pool_workers_for_argv(["status", "-c", cfg]) == 0
    assert pool_workers_for_argv(["data", "stats", "-c", cfg]) == 0


def test_defaults_are_the_executor_configs(tmp_path: Path) -> None:
    """The early start reads raw TOML, so it restates ExecutorConfig's defaults (config/run.py):
    a pool of every CPU. They must not drift apart."""
    from llamapipe.config import ExecutorConfig

    default = ExecutorConfig()
    assert default.kind == "pool" and default.workers == (os.cpu_count() or 1)
    cfg = _config(tmp_path, "")
    expected = default.workers if default.workers > 1 else 0
    assert pool_workers_for_argv(["data", "build", "-c", cfg]) == expected


def test_set_values_are_read_as_the_config_loader_reads_them(tmp_path: Path) -> None:
    """`--set` goes through the loader's own rules (llamapipe/overrides.py): TOML values, the
    flags applied after it; an override the loader refuses starts nothing."""
    cfg = _config(tmp_path, "[executor]\nworkers = 3")
    assert pool_workers_for_argv(["run", "-c", cfg, "--set=executor.workers=5"]) == 5
    assert pool_workers_for_argv(["run", "-c", cfg, "--set", "executor.workers=5", "-w", "2"]) == 2
    assert pool_workers_for_argv(["run", "-c", cfg, "--set", "executor.workers"]) == 0
    assert pool_workers_for_argv(["run", "-c", cfg, "--set", "executor=3"]) == 0


def test_unreadable_configs_start_nothing(tmp_path: Path) -> None:
    """The CLI's own loading reports these; the early start just stays out of the way."""
    assert pool_workers_for_argv(["data", "build", "-c", str(tmp_path / "missing.toml")]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[executor\nkind=", encoding="utf-8")
    assert pool_workers_for_argv(["data", "build", "-c", str(bad)]) == 0
    cfg = _config(tmp_path, '[executor]\nkind = "pool"\nworkers = "many"')
    assert pool_workers_for_argv(["data", "build", "-c", cfg]) == 0


_PROBE = """
import sys
import multiprocessing.forkserver as fs
from llamapipe.pool_start import start_early_for_argv
started = start_early_for_argv(sys.argv[1:])
print(started, fs._forkserver._forkserver_pid is not None, "numpy" in sys.modules)
"""


def _probe(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_forkserver_starts_before_any_heavy_import(tmp_path: Path) -> None:
    cfg = _config(tmp_path, '[executor]\nkind = "pool"\nworkers = 2')
    # started, and this process has not imported numpy: the forkserver imports it
    assert _probe(["data", "build", "-c", cfg]) == "True True False"
    assert _probe(["data", "build", "-c", cfg], {EARLY_ENV: "0"}) == "False False False"
    assert _probe(["data", "build", "-c", cfg, "--workers", "1"]) == "False False False"


@pytest.mark.slow
def test_early_started_pool_builds_what_inprocess_builds(tmp_path: Path, c4_parts: Path) -> None:
    """`python -m llamapipe data build` with a 2-worker pool started early writes the same
    shards as in-process."""
    shards = {}
    for kind in ("inprocess", "pool"):
        root = tmp_path / kind
        root.mkdir()
        cfg = write_config(root, c4_parts, kind=kind)
        done = cli("data", "build", "-c", str(cfg), "--source", "c4", cwd=root)
        assert done.returncode == 0, done.stderr
        files = sorted((root / "run" / "ingest" / "c4" / "shards").glob("*.parquet"))
        shards[kind] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert len(shards["inprocess"]) == 8
    assert shards["pool"] == shards["inprocess"]
