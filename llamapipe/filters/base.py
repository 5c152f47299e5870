"""The filter interface every source's rules implement.

A filter is anything with a `name` and a `check(doc)` that returns None to keep the document,
or the reason it is removed (a string, or a `Rejection` carrying the score that decided). The
reason is the stats.json key; the name groups reasons for timing and for `data sample`.
Filters may rewrite `doc.text` or add to `doc.meta` (a line filter, a score kept as an
attribute) before returning None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from llamapipe.formats.documents import Document


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a document was removed: the stats.json reason and, for a threshold, its score."""

    reason: str
    score: float | None = None


@runtime_checkable
class Filter(Protocol):
    """One rule. `check` returns None (keep) or the reason the document is removed."""

    name: str

    def check(self, doc: Document) -> str | Rejection | None: ...


class ThresholdFilter:
    """A stored score against a cut: the cheap decision step of a score kept as an attribute.

    The score was computed once, upstream, and lives in `doc.meta[attribute]`; only the cut is
    applied here, so changing `threshold` re-runs only the stage that holds this filter.
    `keep_above = False` keeps documents whose score is at most the threshold.
    """

    def __init__(
        self,
        name: str,
        attribute: str,
        threshold: float,
        keep_above: bool = True,
        reason: str | None = None,
    ) -> None:
        self.name = name
        self.attribute = attribute
        self.threshold = threshold
        self.keep_above = keep_above
        self._reason = reason or f"{attribute}_{'below' if keep_above else 'above'}_threshold"

    def score(self, doc: Document) -> float:
        value: Any = doc.meta[self.attribute]
        return float(value)

    def check(self, doc: Document) -> Rejection | None:
        value = self.score(doc)
        kept = value >= self.threshold if self.keep_above else value <= self.threshold
        return None if kept else Rejection(self._reason, value)
