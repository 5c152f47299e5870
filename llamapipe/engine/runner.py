"""Running a stage: decide what is done, what is stale, run the rest, record what happened.

The rules (README.md, "Architecture"):
- a shard whose marker carries the current fingerprint is done and is never redone;
- a stage whose config, inputs or upstream outputs changed is stale: it is reported and
  refused, never silently mixed with new shards, until the user asks for --force;
- a stage is complete only when every shard is done and its finalize step has run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from llamapipe import __version__
from llamapipe.engine.executors import (
    Executor,
    InProcessExecutor,
    PoolExecutor,
    make_executor,
)
from llamapipe.engine.fingerprint import digest, shard_fingerprint
from llamapipe.engine.progress import ShardProgress
from llamapipe.engine.spec import Counters, FinalizeContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import config_dict
from llamapipe.engine.state import (
    StageStatus,
    clear_stage,
    read_manifest,
    read_markers,
    remove_leftovers,
    write_json_atomic,
)
from llamapipe.engine.worker import ShardOutcome, ShardTask
from llamapipe.errors import StageError
from llamapipe.io.artifacts import verify_written
from llamapipe.io.diskfull import disk_full_error, is_disk_full
from llamapipe.runlock import hold_run_dir


@dataclass
class StageResult:
    """What one run of a stage did, for the summary table."""

    name: str
    path: Path
    skipped: bool
    shards_total: int
    shards_run: int
    failed: list[ShardOutcome] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    seconds: float = 0.0


@dataclass
class _Plan:
    shards: list[ShardSpec]
    fingerprints: dict[int, str]
    config_digest: str
    upstream_digests: dict[str, str]
    config: dict[str, Any]


def _upstream_digests(spec: StageSpec, run_dir: Path) -> dict[str, str]:
    digests = {}
    for name in spec.upstream:
        manifest = read_manifest(run_dir / name)
        if not manifest or not manifest.get("complete"):
            raise StageError(
                f"stage {spec.name}: upstream stage {name} is not complete; run it first"
            )
        digests[name] = manifest["digest"]
    return digests


def _make_plan(spec: StageSpec, run_dir: Path) -> _Plan:
    upstream = _upstream_digests(spec, run_dir)
    config = config_dict(spec.config)
    config_digest = digest(config)
    shards = sorted(spec.plan(), key=lambda s: s.index)
    indexes = [s.index for s in shards]
    if len(set(indexes)) != len(indexes):
        raise StageError(f"stage {spec.name}: its plan has duplicate shard indexes")
    fingerprints = {
        s.index: shard_fingerprint(config_digest, upstream, s.index, s.inputs, s.params)
        for s in shards
    }
    return _Plan(shards, fingerprints, config_digest, upstream, config)


def _stale_reason(manifest: dict[str, Any], plan: _Plan) -> str:
    if manifest.get("config_digest") != plan.config_digest:
        return "config changed" + _changed_keys(manifest.get("config", {}), plan.config)
    if manifest.get("upstream", {}) != plan.upstream_digests:
        changed = sorted(
            k
            for k in set(manifest.get("upstream", {})) | set(plan.upstream_digests)
            if manifest.get("upstream", {}).get(k) != plan.upstream_digests.get(k)
        )
        return f"upstream changed ({', '.join(changed)})"
    old = {int(k): v for k, v in manifest.get("fingerprints", {}).items()}
    if old != plan.fingerprints:
        return "inputs changed"
    return ""


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return f" ({', '.join(keys)})" if keys else ""


def _write_manifest(
    spec: StageSpec, stage_dir: Path, plan: _Plan, complete: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    manifest = {
        "stage": spec.name,
        "llamapipe_version": __version__,
        "config": plan.config,
        "config_digest": plan.config_digest,
        "upstream": plan.upstream_digests,
        "shards": [
            {"index": s.index, "inputs": list(s.inputs), "params": s.params} for s in plan.shards
        ],
        "fingerprints": {str(k): v for k, v in plan.fingerprints.items()},
        "complete": complete,
        **extra,
    }
    if complete:
        manifest["digest"] = digest(
            {"config": plan.config_digest, "fingerprints": manifest["fingerprints"]}
        )
    write_json_atomic(stage_dir / "manifest.json", manifest)
    return manifest


def stage_status(spec: StageSpec, run_dir: Path) -> StageStatus:
    """complete / partial (k of n) / stale / missing, without running anything."""
    stage_dir = run_dir / spec.name
    manifest = read_manifest(stage_dir)
    markers = read_markers(stage_dir)
    if manifest is None and not markers:
        return StageStatus(spec.name, "missing", 0, 0, stage_dir)
    try:
        plan = _make_plan(spec, run_dir)
    except StageError as exc:
        total = len((manifest or {}).get("shards", []))
        return StageStatus(spec.name, "stale", len(markers), total, stage_dir, str(exc))
    total = len(plan.shards)
    if manifest is not None:
        reason = _stale_reason(manifest, plan)
        if reason:
            return StageStatus(spec.name, "stale", len(markers), total, stage_dir, reason)
    done = sum(
        1
        for s in plan.shards
        if markers.get(s.index, {}).get("fingerprint") == plan.fingerprints[s.index]
    )
    if manifest and manifest.get("complete") and done == total:
        return StageStatus(spec.name, "complete", done, total, stage_dir)
    return StageStatus(spec.name, "partial", done, total, stage_dir)


def run_stage(
    spec: StageSpec,
    run_dir: Path | str,
    *,
    executor: str | Executor = "inprocess",
    workers: int = 1,
    retries: int = 2,
    strict: bool = False,
    force: bool = False,
    seed: int = 0,
    console: Console | None = None,
    executor_options: dict[str, Any] | None = None,
) -> StageResult:
    """Run one stage to completion, resuming from its finished shards.

    Holds the run dir's lock (re-entrant: the CLI usually holds it already), which makes it
    safe to remove what killed writers of this stage left behind before starting.
    """
    console = console or Console(stderr=True)
    run_dir = Path(run_dir)
    with hold_run_dir(run_dir):
        remove_leftovers(run_dir / spec.name)
        return _run_stage(
            spec,
            run_dir,
            executor=executor,
            workers=workers,
            retries=retries,
            strict=strict,
            force=force,
            seed=seed,
            console=console,
            executor_options=executor_options,
        )


def _run_stage(
    spec: StageSpec,
    run_dir: Path,
    *,
    executor: str | Executor,
    workers: int,
    retries: int,
    strict: bool,
    force: bool,
    seed: int,
    console: Console,
    executor_options: dict[str, Any] | None,
) -> StageResult:
    stage_dir = run_dir / spec.name
    start = time.perf_counter()
    plan = _make_plan(spec, run_dir)
    manifest, markers = _unless_stale(spec, stage_dir, plan, force, console)
    pending = [
        s
        for s in plan.shards
        if markers.get(s.index, {}).get("fingerprint") != plan.fingerprints[s.index]
    ]
    if not pending and manifest is not None and manifest.get("complete"):
        console.print(f"[green]{spec.name}[/]: complete, nothing to do ({stage_dir})")
        counters = Counters.from_dict(_read_stats_counters(stage_dir))
        return StageResult(spec.name, stage_dir, True, len(plan.shards), 0, counters=counters)

    stage_dir.mkdir(parents=True, exist_ok=True)
    _write_manifest(spec, stage_dir, plan, complete=False, extra={"started": time.time()})
    tasks = [_shard_task(spec, run_dir, plan, s, seed, strict) for s in pending]
    failed = _execute(spec, tasks, executor, workers, retries, run_dir, console, executor_options)

    shard_markers, counters = _merged_markers(stage_dir, plan)
    result = StageResult(
        spec.name, stage_dir, False, len(plan.shards), len(tasks), failed, counters
    )
    if failed:
        _write_stats(stage_dir, spec, counters, failed)
        lines = "; ".join(f"shard {f.index:05d}: {f.error}" for f in failed[:5])
        raise StageError(
            f"stage {spec.name}: {len(failed)} of {len(plan.shards)} shards failed after "
            f"{retries} retries ({lines}); the others are complete, re-run to retry"
        )

    finalize_outputs: list[str] = []
    if spec.finalize is not None:
        fctx = FinalizeContext(
            stage_name=spec.name,
            stage_dir=stage_dir,
            run_dir=run_dir,
            config=spec.config,
            seed=seed,
            strict=strict,
            shard_markers=shard_markers,
            counters=counters,
        )
        finalize_outputs = _finalize(spec, fctx)

    result.seconds = time.perf_counter() - start
    shutil.rmtree(stage_dir / ".tmp", ignore_errors=True)
    _write_stats(stage_dir, spec, counters, [], seconds=result.seconds)
    _write_manifest(
        spec,
        stage_dir,
        plan,
        complete=True,
        extra={"finished": time.time(), "finalize_outputs": finalize_outputs},
    )
    return result


def _shard_task(
    spec: StageSpec, run_dir: Path, plan: _Plan, shard: ShardSpec, seed: int, strict: bool
) -> ShardTask:
    return ShardTask(
        stage_name=spec.name,
        stage_dir=str(run_dir / spec.name),
        run_dir=str(run_dir),
        config=spec.config,
        process=spec.process,
        shard=shard,
        fingerprint=plan.fingerprints[shard.index],
        seed=seed,
        strict=strict,
    )


def _merged_markers(stage_dir: Path, plan: _Plan) -> tuple[list[dict[str, Any]], Counters]:
    """The markers of the planned shards that finished, in plan order, and their counters
    summed."""
    markers = read_markers(stage_dir)
    shard_markers = [markers[s.index] for s in plan.shards if s.index in markers]
    counters = Counters()
    for marker in shard_markers:
        counters.merge(marker.get("counters", {}))
    return shard_markers, counters


def _unless_stale(
    spec: StageSpec, stage_dir: Path, plan: _Plan, force: bool, console: Console
) -> tuple[dict[str, Any] | None, dict[int, dict[str, Any]]]:
    """The stage's manifest and shard markers, once it is known not to be stale: a stale stage
    is refused, or with `force` cleared (then there is neither manifest nor marker)."""
    manifest = read_manifest(stage_dir)
    markers = read_markers(stage_dir)
    if manifest is None and not markers:
        return manifest, markers
    reason = _stale_reason(manifest, plan) if manifest is not None else ""
    if reason and not force:
        raise StageError(
            f"stage {spec.name} is stale ({reason}) at {stage_dir}; "
            "re-run with --force to rebuild it"
        )
    if reason:
        console.print(f"[yellow]{spec.name}[/]: rebuilding ({reason})")
        clear_stage(stage_dir)
        return None, {}
    return manifest, markers


def _finalize(spec: StageSpec, fctx: FinalizeContext) -> list[str]:
    """Run the stage's finalize step; the files it wrote, each checked complete on disk
    before the manifest may say complete."""
    assert spec.finalize is not None
    before = _list_files(fctx.stage_dir)
    try:
        spec.finalize(fctx)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(fctx.stage_dir, exc) from exc
        raise
    outputs = sorted(_list_files(fctx.stage_dir) - before)
    for rel in outputs:
        verify_written(fctx.stage_dir / rel)
    return outputs


def _list_files(stage_dir: Path) -> set[str]:
    skip = {"_done", ".tmp"}
    return {
        str(p.relative_to(stage_dir))
        for p in stage_dir.rglob("*")
        if p.is_file()
        and p.relative_to(stage_dir).parts[0] not in skip
        and p.name not in ("manifest.json", "stats.json")
    }


def _local_input_bytes(task: ShardTask) -> int:
    """The bytes of a shard's local input files (remote ones count 0: no request for this)."""
    total = 0
    for path in task.shard.inputs:
        if "://" in str(path):
            continue
        try:
            total += os.stat(path).st_size
        except OSError:
            pass
    return total


def largest_first(tasks: list[ShardTask]) -> list[ShardTask]:
    """Shards with the most local input first, ties in plan order: with parallel workers pulling
    shards as they free up, the big ones do not land last on one worker while the others idle
    (the longest-processing-time-first rule). Outputs do not depend on the order."""
    return sorted(tasks, key=lambda task: -_local_input_bytes(task))


def _execute(
    spec: StageSpec,
    tasks: list[ShardTask],
    executor: str | Executor,
    workers: int,
    retries: int,
    run_dir: Path,
    console: Console,
    executor_options: dict[str, Any] | None,
) -> list[ShardOutcome]:
    if not tasks:
        return []
    own = isinstance(executor, str)
    ex: Executor = (
        make_executor(executor, workers, run_dir=run_dir, **(executor_options or {}))
        if isinstance(executor, str)
        else executor
    )
    failed: list[ShardOutcome] = []
    try:
        with ShardProgress(spec.name, len(tasks), console) as progress:
            # in-process shards run in plan order; parallel workers get the big ones first
            todo = tasks if isinstance(ex, InProcessExecutor) else largest_first(tasks)
            for attempt in range(retries + 1):
                again: list[ShardTask] = []
                for task, outcome in ex.run(todo):
                    if outcome.ok:
                        progress.shard_done(outcome.counters)
                    elif attempt < retries:
                        console.print(
                            f"[yellow]{spec.name}[/] shard {task.shard.name} failed "
                            f"(attempt {attempt + 1}/{retries + 1}): {outcome.error}"
                        )
                        task.attempt = attempt + 1
                        again.append(task)
                    else:
                        console.print(
                            f"[red]{spec.name}[/] shard {task.shard.name} failed: {outcome.error}"
                        )
                        failed.append(outcome)
                if not again:
                    break
                todo = again
    finally:
        if own:
            ex.close()
    return failed


def _read_stats_counters(stage_dir: Path) -> dict[str, Any]:
    from llamapipe.engine.state import read_json

    stats = read_json(stage_dir / "stats.json") or {}
    return {
        "totals": stats.get("totals", {}),
        "removed": stats.get("removed", {}),
        "errors": stats.get("errors", []),
        "filter_cpu_s": stats.get("filter_cpu_s", {}),
    }


def _write_stats(
    stage_dir: Path,
    spec: StageSpec,
    counters: Counters,
    failed: list[ShardOutcome],
    seconds: float | None = None,
) -> None:
    data = counters.to_dict()
    data["stage"] = spec.name
    data["failed_shards"] = [
        {"index": f.index, "error": f.error, "traceback": f.traceback} for f in failed
    ]
    if seconds is not None:
        data["seconds"] = round(seconds, 3)
    write_json_atomic(stage_dir / "stats.json", data)


def run_stages(
    specs: Sequence[StageSpec],
    run_dir: Path | str,
    **kwargs: Any,
) -> list[StageResult]:
    """Run stages in order (each after its upstream), sharing one executor, then summarise."""
    with hold_run_dir(run_dir):
        return _run_stages(specs, Path(run_dir), **kwargs)


def _run_stages(specs: Sequence[StageSpec], run_dir: Path, **kwargs: Any) -> list[StageResult]:
    from llamapipe.engine.progress import print_summary

    # Before any stage runs (one may refuse to run, stale): what killed writers left anywhere
    # in these stages goes now, under the lock (run_stage does it again for its own stage).
    for spec in specs:
        remove_leftovers(run_dir / spec.name)
    console = kwargs.pop("console", None) or Console(stderr=True)
    executor = kwargs.pop("executor", "inprocess")
    workers = kwargs.get("workers", 1)
    options = kwargs.pop("executor_options", None)
    own = isinstance(executor, str)
    ex = (
        make_executor(executor, workers, run_dir=Path(run_dir), **(options or {}))
        if isinstance(executor, str)
        else executor
    )
    if isinstance(ex, PoolExecutor):
        # workers come up (and import every stage's libraries once) while stages are planned
        ex.start([spec.process for spec in specs])
    results: list[StageResult] = []
    try:
        for spec in specs:
            results.append(run_stage(spec, run_dir, executor=ex, console=console, **kwargs))
    finally:
        if own:
            ex.close()
        if results:
            print_summary(results, console)
    return results
