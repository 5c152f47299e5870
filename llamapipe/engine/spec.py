"""What a stage is: a config, a plan of shards, and a pure function that processes one shard.

A shard function must be a module-level function so that every executor (process pool, Ray,
submitit) can pickle it by reference; everything it needs travels in the ShardContext.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamapipe.errors import InputError
from llamapipe.filters.runner import FilterRunner

if TYPE_CHECKING:
    from llamapipe.filters.base import Filter

#: How many error records a shard keeps verbatim in its marker; the rest are only counted.
MAX_ERRORS_KEPT = 50


@dataclass(frozen=True)
class ShardSpec:
    """One unit of work: its index, the inputs it reads, and JSON-able extras."""

    index: int
    inputs: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.index:05d}"


class Counters:
    """Counts of one shard: free-form totals, removals per reason, CPU seconds per filter, and
    input errors.

    Errors are counted always, and the first MAX_ERRORS_KEPT are kept with their file and record
    so that stats.json can say which inputs were skipped and why.
    """

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.totals: Counter[str] = Counter()
        self.removed_by: Counter[str] = Counter()
        self.filter_cpu_s: Counter[str] = Counter()
        self.errors: list[dict[str, str]] = []

    def add(self, name: str, n: int = 1) -> None:
        self.totals[name] += n

    def removed(self, reason: str, n: int = 1) -> None:
        self.removed_by[reason] += n

    def filter_seconds(self, name: str, seconds: float) -> None:
        self.filter_cpu_s[name] += seconds

    def error(self, path: str | Path, record: str | int | None, message: str) -> None:
        """Count a corrupt input; in strict mode stop with a one-line error naming it."""
        where = f"{path}" if record is None else f"{path} (record {record})"
        if self.strict:
            raise InputError(f"{where}: {message}")
        self.totals["errors"] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"path": str(path), "record": str(record), "error": message})

    def merge(self, other: Counters | dict[str, Any]) -> None:
        data = other.to_dict() if isinstance(other, Counters) else other
        self.totals.update(data.get("totals", {}))
        self.removed_by.update(data.get("removed", {}))
        self.filter_cpu_s.update(data.get("filter_cpu_s", {}))
        room = MAX_ERRORS_KEPT - len(self.errors)
        if room > 0:
            self.errors.extend(data.get("errors", [])[:room])

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "totals": dict(sorted(self.totals.items())),
            "removed": dict(sorted(self.removed_by.items())),
            "errors": list(self.errors),
        }
        if self.filter_cpu_s:  # absent for stages without filters: their stats stay as they were
            data["filter_cpu_s"] = {k: round(v, 6) for k, v in sorted(self.filter_cpu_s.items())}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counters:
        counters = cls()
        counters.merge(data)
        return counters


@dataclass
class ShardContext:
    """Everything a shard function may touch. Outputs go to a private temp dir first."""

    shard: ShardSpec
    stage_name: str
    stage_dir: Path
    run_dir: Path
    tmp_dir: Path
    config: Any  # a StageConfig dataclass (engine/stage_config.py) or a plain dict
    seed: int
    strict: bool
    counters: Counters

    def output(self, relpath: str) -> Path:
        """A path in the shard's temp dir; the engine moves it to stage_dir/relpath on success."""
        path = self.tmp_dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def upstream_dir(self, stage_name: str) -> Path:
        return self.run_dir / stage_name

    def filter_runner(self, filters: Sequence[Filter]) -> FilterRunner:
        """A FilterRunner over `filters` counting into this shard, writing removed documents to
        removed/<shard>.parquet when the stage config says `write_removed` (close it, or use it
        as a context manager, to finish that file)."""
        from llamapipe.filters import REMOVED_DIR, RemovedWriter

        removed = None
        if _config_flag(self.config, "write_removed"):
            removed = RemovedWriter(self.output(f"{REMOVED_DIR}/{self.shard.name}.parquet"))
        return FilterRunner(filters, self.counters, removed)

    def document_writer(self, relpath: str | None = None) -> CountingDocumentWriter:
        """A DocumentWriter at shards/<index>.parquet that also counts docs_out and bytes_out;
        its meta struct is this stage's schema (llamapipe/formats/meta_schemas.py)."""
        from llamapipe.formats.documents import DocumentWriter
        from llamapipe.formats.meta_schemas import stage_meta_schema

        meta = stage_meta_schema(self.stage_name)
        path = self.output(relpath or f"shards/{self.shard.name}.parquet")
        return CountingDocumentWriter(DocumentWriter(path, meta), self.counters)


def _config_flag(config: Any, key: str) -> bool:
    """A boolean key of a stage config, typed (attribute) or a plain dict."""
    if isinstance(config, dict):
        return bool(config.get(key, False))
    return bool(getattr(config, key, False))


class CountingDocumentWriter:
    """Wraps a DocumentWriter so a stage's output counts need no bookkeeping in the stage."""

    def __init__(self, writer: Any, counters: Counters) -> None:
        self._writer = writer
        self._counters = counters

    def write(self, doc: Any) -> None:
        self._writer.write(doc)
        self._counters.add("docs_out")
        self._counters.add("bytes_out", doc.nbytes)

    def write_all(self, docs: Any) -> None:
        for doc in docs:
            self.write(doc)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> CountingDocumentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class FinalizeContext:
    """What a stage's finalize step sees: the finished shards, in order, and their markers."""

    stage_name: str
    stage_dir: Path
    run_dir: Path
    config: Any  # a StageConfig dataclass (engine/stage_config.py) or a plain dict
    seed: int
    strict: bool
    shard_markers: list[dict[str, Any]]
    counters: Counters

    def upstream_dir(self, stage_name: str) -> Path:
        return self.run_dir / stage_name

    @contextmanager
    def output(self, relpath: str) -> Iterator[Path]:
        """A temporary path for stage_dir/relpath, moved into place only if the block succeeds,
        so a killed or failed finalize step never leaves a half-written file under its name."""
        target = self.stage_dir / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.stem}.tmp{target.suffix}")
        try:
            yield tmp
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


@dataclass
class StageSpec:
    """A stage: its folder name in the run dir, its config, how to plan and process its shards.

    ``plan`` is called only when the stage runs (or its status is asked), after its upstream
    stages are complete, because some plans depend on upstream outputs.
    """

    name: str
    config: Any  # a StageConfig dataclass (engine/stage_config.py) or a plain dict
    plan: Callable[[], list[ShardSpec]]
    process: Callable[[ShardContext], None]
    upstream: list[str] = field(default_factory=list)
    finalize: Callable[[FinalizeContext], None] | None = None
    description: str = ""
