"""What the pool's forkserver imports before forking workers (engine/executors.py,
llamapipe/pool_start.py)."""

from __future__ import annotations

from pathlib import Path

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


def test_shards_run_largest_local_input_first(tmp_path: Path) -> None:
    """engine/runner.py `largest_first`: by local input bytes, ties (and remote or missing
    inputs, which are not probed) in plan order."""
    from dataclasses import replace

    from llamapipe.engine.runner import largest_first

    sizes = {"a": 10, "b": 300, "c": 300, "d": 20}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)

    def task(index: int, *inputs: str):
        return replace(_task(), shard=ShardSpec(index, inputs=tuple(inputs)))

    tasks = [
        task(0, str(tmp_path / "a")),
        task(1, "s3://bucket/huge.warc.wet.gz"),
        task(2, str(tmp_path / "b")),
        task(3, str(tmp_path / "a"), str(tmp_path / "d")),
        task(4, str(tmp_path / "c")),
        task(5, str(tmp_path / "missing")),
    ]
    assert [t.shard.index for t in largest_first(tasks)] == [2, 4, 3, 0, 1, 5]


def _count_one(ctx) -> None:
    ctx.counters.add("docs_in")


def test_a_pool_broken_between_stages_is_replaced(tmp_path: Path) -> None:
    """A worker killed while idle (between two stages of one build) breaks the pool; the next
    stage gets fresh workers instead of failing (engine/executors.py `_submit_all`)."""
    import os
    import signal
    import time
    from dataclasses import replace

    from llamapipe.engine.executors import PoolExecutor

    def tasks(stage: str) -> list[ShardTask]:
        base = replace(
            _task(), stage_name=stage, stage_dir=str(tmp_path / stage), run_dir=str(tmp_path)
        )
        return [replace(base, process=_count_one, shard=ShardSpec(i)) for i in range(3)]

    ex = PoolExecutor(2)
    try:
        assert all(out.ok for _t, out in ex.run(tasks("first")))
        pool = ex._pool
        assert pool is not None
        os.kill(next(iter(pool._processes)), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not pool._broken and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool._broken
        outcomes = [out for _t, out in ex.run(tasks("second"))]
        assert [out.ok for out in outcomes] == [True] * 3, [out.error for out in outcomes]
        assert ex._pool is not pool
    finally:
        ex.close()
