"""Where shards run: in this process, a local process pool, a Ray cluster, or a Slurm job array.

Every executor runs the same `run_shard_task` and yields outcomes as shards finish; retries and
reporting live in the runner, so the four behave identically and produce identical outputs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from llamapipe.engine.worker import ShardOutcome, ShardTask, run_shard_task
from llamapipe.errors import ConfigError
from llamapipe.pool_start import preload_modules, start_forkserver

EXECUTOR_KINDS = ("inprocess", "pool", "ray", "slurm")


class Executor(Protocol):
    def run(self, tasks: Sequence[ShardTask]) -> Iterator[tuple[ShardTask, ShardOutcome]]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Runs shards one after another here: the simplest to debug, and what tests use."""

    def run(self, tasks: Sequence[ShardTask]) -> Iterator[tuple[ShardTask, ShardOutcome]]:
        for task in tasks:
            yield task, run_shard_task(task)

    def close(self) -> None:
        pass


def _adopt_environment(environ: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environ)


def _stage_modules(processes: Iterable[Callable[..., Any]]) -> list[str]:
    """The llamapipe modules of these shard functions (with their sources' libraries:
    fastText, KenLM, SentencePiece...)."""
    return [
        module
        for process in processes
        if (module := getattr(process, "__module__", None)) and module.startswith("llamapipe.")
    ]


def _preload_modules(processes: Iterable[Callable[..., Any]]) -> list[str]:
    """What a forkserver started for these shard functions preloads (llamapipe/pool_start.py)."""
    return preload_modules(_stage_modules(processes))


def _ready() -> int:
    return os.getpid()


class PoolExecutor:
    """A local process pool (forkserver: no fork of a process holding threads or locks).

    Its workers live as long as the executor, so a build that runs several stages with one
    executor (engine.run_stages) starts them once, and what a worker loaded for one stage (a
    model, a hash index) stays loaded for the next. `start` brings the forkserver and the
    workers up ahead of the first stage, while the driver is still planning; the forkserver
    starts once per driver process and preloads what the first pool asked for.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def start(self, processes: Sequence[Callable[..., Any]]) -> None:
        """Start the pool now, preloading the modules of these shard functions, and have every
        worker spawned (a no-op task each) without waiting for them."""
        if self._pool is not None:
            return
        ctx = multiprocessing.get_context("forkserver")
        start_forkserver(_stage_modules(processes))
        # The forkserver is started once per process and its workers inherit *its*
        # environment, which may predate variables the driver set since (credentials,
        # endpoints): each worker takes the driver's environment of now.
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_adopt_environment,
            initargs=(dict(os.environ),),
        )
        for _ in range(self.workers):
            self._pool.submit(_ready)

    def run(self, tasks: Sequence[ShardTask]) -> Iterator[tuple[ShardTask, ShardOutcome]]:
        futures = self._submit_all(tasks)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                task = futures[fut]
                try:
                    outcome = fut.result()
                except BrokenProcessPool as exc:
                    # A worker died (killed, out of memory): the pool is unusable, so the next
                    # attempt starts a fresh one.
                    self._pool = None
                    outcome = ShardOutcome(task.shard.index, False, error=f"worker died: {exc}")
                except Exception as exc:
                    outcome = ShardOutcome(task.shard.index, False, error=f"{exc}")
                yield task, outcome

    def _submit_all(self, tasks: Sequence[ShardTask]) -> dict[Future[ShardOutcome], ShardTask]:
        """Every task submitted. A pool found broken before the stage starts (a worker killed
        while idle, between stages) is replaced once, so the stage runs on fresh workers."""
        try:
            return self._submit(tasks)
        except BrokenProcessPool:
            assert self._pool is not None
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return self._submit(tasks)

    def _submit(self, tasks: Sequence[ShardTask]) -> dict[Future[ShardOutcome], ShardTask]:
        if self._pool is None:
            self.start([task.process for task in tasks[:1]])
        assert self._pool is not None
        return {self._pool.submit(run_shard_task, task): task for task in tasks}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Ray tasks, one per shard; connects to `address` or starts a local cluster."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "executor 'ray' needs the ray extra: pip install 'llamapipe[ray]'"
            ) from exc
        self._ray = ray
        self._started_here = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = max(1, workers)
            ray.init(**kwargs)
            self._started_here = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_shard_task)

    def run(self, tasks: Sequence[ShardTask]) -> Iterator[tuple[ShardTask, ShardOutcome]]:
        ray = self._ray
        refs = {self._remote.remote(task): task for task in tasks}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                task = refs[ref]
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # the worker process died
                    outcome = ShardOutcome(task.shard.index, False, error=f"ray task died: {exc}")
                yield task, outcome

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()


class SlurmExecutor:
    """A Slurm job array through submitit; `cluster="local"` runs the same jobs locally (tests)."""

    def __init__(
        self,
        folder: Path,
        cluster: str | None = None,
        partition: str | None = None,
        timeout_min: int = 60,
        cpus_per_task: int = 1,
        mem_gb: int = 4,
        array_parallelism: int = 64,
    ) -> None:
        try:
            import submitit
        except ImportError as exc:
            raise ConfigError(
                "executor 'slurm' needs the slurm extra: pip install 'llamapipe[slurm]'"
            ) from exc
        self._executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        params: dict[str, Any] = {
            "timeout_min": timeout_min,
            "cpus_per_task": cpus_per_task,
            "mem_gb": mem_gb,
        }
        if self._executor.cluster == "slurm":
            params["slurm_array_parallelism"] = array_parallelism
            if partition:
                params["slurm_partition"] = partition
        self._executor.update_parameters(**params)

    def run(self, tasks: Sequence[ShardTask]) -> Iterator[tuple[ShardTask, ShardOutcome]]:
        if not tasks:
            return
        jobs = self._executor.map_array(run_shard_task, list(tasks))
        for job, task in zip(jobs, tasks, strict=True):
            try:
                outcome = job.result()
            except Exception as exc:
                outcome = ShardOutcome(task.shard.index, False, error=f"slurm job failed: {exc}")
            yield task, outcome

    def close(self) -> None:
        pass


def make_executor(
    kind: str,
    workers: int = 1,
    *,
    ray_address: str | None = None,
    slurm: dict[str, Any] | None = None,
    run_dir: Path | None = None,
) -> Executor:
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "pool":
        return PoolExecutor(workers) if workers > 1 else InProcessExecutor()
    if kind == "ray":
        return RayExecutor(workers, ray_address)
    if kind == "slurm":
        opts = dict(slurm or {})
        folder = Path(opts.pop("folder", None) or (run_dir or Path(".")) / "slurm")
        return SlurmExecutor(folder=folder, **opts)
    raise ConfigError(f"executor.kind: unknown executor {kind!r}; choose one of {EXECUTOR_KINDS}")
