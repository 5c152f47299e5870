"""Apply a source's filters in order, and keep the books of each one.

Per filter: documents removed (stats.json `removed`, by reason) and CPU seconds spent
(stats.json `filter_cpu_s`, by filter name; shown by `llamapipe data stats`). A removed document
goes to the stage's removed writer when the user asked for one (filters/removed.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from llamapipe.filters.base import Filter, Rejection
from llamapipe.formats.documents import Document

if TYPE_CHECKING:
    from llamapipe.engine.spec import Counters
    from llamapipe.filters.removed import RemovedWriter


class FilterRunner:
    """The first filter that rejects a document decides; later filters never see it.

    CPU time is the calling thread's (`time.thread_time`), so a filter is charged for its own
    work only, whatever else the process runs.
    """

    def __init__(
        self,
        filters: Sequence[Filter],
        counters: Counters,
        removed: RemovedWriter | None = None,
    ) -> None:
        names = [f.name for f in filters]
        if len(set(names)) != len(names):
            raise ValueError(f"filter names must be distinct: {names}")
        self.filters = list(filters)
        self.counters = counters
        self.removed = removed

    def keep(self, doc: Document) -> bool:
        """True when every filter keeps `doc` (which filters may have rewritten)."""
        for f in self.filters:
            start = time.thread_time()
            verdict = f.check(doc)
            self.counters.filter_seconds(f.name, time.thread_time() - start)
            if verdict is not None:
                self.reject(doc, f.name, verdict)
                return False
        return True

    def reject(self, doc: Document, filter_name: str, verdict: str | Rejection) -> None:
        """Count and record one removal; also for removals decided outside `filters` (a
        document dedup, a whole-shard rule) so that they reach the same writer."""
        rejection = Rejection(verdict) if isinstance(verdict, str) else verdict
        self.counters.removed(rejection.reason)
        if self.removed is not None:
            self.removed.write(doc, filter_name, rejection.reason, rejection.score)

    def close(self) -> None:
        """Finish the removed writer's file, if there is one (the runner owns it)."""
        if self.removed is not None:
            self.removed.close()

    def __enter__(self) -> FilterRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, docs: Iterable[Document]) -> Iterable[Document]:
        """The documents every filter keeps, in order."""
        for doc in docs:
            if self.keep(doc):
                yield doc
