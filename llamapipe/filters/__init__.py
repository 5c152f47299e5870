"""Document filters: one small interface, one runner, one writer of what was removed.

A filter says why a document goes (`Filter.check`), the runner applies a source's filters in
order and keeps the books (removals and CPU seconds per filter, removed documents on request).
See README "Add a filter".
"""

from llamapipe.filters.base import Filter, Rejection, ThresholdFilter
from llamapipe.filters.removed import REMOVED_DIR, RemovedWriter, iter_removed
from llamapipe.filters.runner import FilterRunner

__all__ = [
    "REMOVED_DIR",
    "Filter",
    "FilterRunner",
    "Rejection",
    "RemovedWriter",
    "ThresholdFilter",
    "iter_removed",
]
