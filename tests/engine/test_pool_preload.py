"""What the pool's forkserver imports before forking workers (engine/executors.py,
llamapipe/pool_start.py)."""

from __future__ import annotations

import pytest

from llamapipe.engine import ShardSpec
from llamapipe.engine.executors import _preload_modules
from llamapipe.engine.worker import ShardTask
from llamapipe.pool_start import FORKSERVER_PRELOAD, PRELOAD_ENV
from llamapipe.sources.c4 import process_file_shard


def _task() -> ShardTask:
    return ShardTask(
        stage_name="ingest/c4",
        stage_dir="/nonexistent",
        run_dir="/nonexistent",
        config={},
        process=process_file_shard,
        shard=ShardSpec(0),
        fingerprint="x",
        seed=0,
        strict=False,
    )


def test_preload_is_the_engine_and_the_stage_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRELOAD_ENV, raising=False)
    assert _preload_modules([_task().process]) == [*FORKSERVER_PRELOAD, "llamapipe.sources.c4"]
    assert _preload_modules([]) == list(FORKSERVER_PRELOAD)


def test_preload_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRELOAD_ENV, "0")
    assert _preload_modules([_task().process]) == []
