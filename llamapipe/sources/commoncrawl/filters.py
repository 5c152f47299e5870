"""CCNet's keep/drop rules as filters (llamapipe/filters/base.py), applied to stored scores.

The scores were computed once upstream (the scored stage: language, language_score,
perplexity, bucket; the classified stage: ref_score); these filters only compare them with the
configured decisions, in CCNet's order: LID score, then language, then perplexity bucket, then
the reference classifier. A page's first failing rule is its stats.json reason (unchanged
strings: documents.py). The removals decided outside a filter (too short, every line a
duplicate, exact duplicate document) go through `FilterRunner.reject` with the names below.
"""

from __future__ import annotations

from llamapipe.filters.base import Filter, Rejection, ThresholdFilter
from llamapipe.formats.documents import Document
from llamapipe.sources.commoncrawl.documents import (
    REMOVED_LANGUAGE,
    REMOVED_LID_SCORE,
    REMOVED_REF_SCORE,
    removed_bucket,
)
from llamapipe.sources.commoncrawl.stage_configs import FilteredConfig

#: Filter names of the removals decided outside `decision_filters` (stats.json filter_cpu_s
#: and the removed writer's `filter` column).
MIN_LENGTH_FILTER = "min_length"
DEDUP_FILTER = "paragraph_dedup"
EXACT_DEDUP_FILTER = "exact_dedup"


class LanguageFilter:
    """Keeps pages whose identified language is one of the kept ones."""

    name = "language"

    def __init__(self, languages: tuple[str, ...] | list[str]) -> None:
        self.languages = frozenset(languages)

    def check(self, doc: Document) -> str | None:
        return None if doc.meta["language"] in self.languages else REMOVED_LANGUAGE


class PerplexityBucketFilter:
    """Keeps pages in the kept buckets; a removal carries the page's perplexity as its score."""

    name = "perplexity_bucket"

    def __init__(self, keep_buckets: tuple[str, ...] | list[str]) -> None:
        self.keep_buckets = frozenset(keep_buckets)

    def check(self, doc: Document) -> Rejection | None:
        bucket = doc.meta["bucket"]
        if bucket in self.keep_buckets:
            return None
        return Rejection(removed_bucket(bucket), doc.meta["perplexity"])


def decision_filters(cfg: FilteredConfig) -> list[Filter]:
    """The decision step's rules, in the order that attributes each removal as CCNet does."""
    filters: list[Filter] = [
        ThresholdFilter(
            "language_score", "language_score", cfg.lid_threshold, reason=REMOVED_LID_SCORE
        ),
        LanguageFilter(cfg.languages),
        PerplexityBucketFilter(cfg.keep_buckets),
    ]
    if cfg.ref_threshold is not None:
        filters.append(
            ThresholdFilter(
                "reference_classifier", "ref_score", cfg.ref_threshold, reason=REMOVED_REF_SCORE
            )
        )
    return filters
