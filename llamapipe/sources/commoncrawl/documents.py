"""The per-document CCNet steps shared by the sub-stages: read, dedup, language id, perplexity.

Kept apart from the stage functions so that the `ccnet-models` stage scores its cutoff sample
with exactly the same steps the `filtered` stage applies to every document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llamapipe.formats.wet.listing import segment_name
from llamapipe.formats.wet.parse import read_wet
from llamapipe.formats.wet.records import WetRecord
from llamapipe.text.langid import LanguageIdentifier
from llamapipe.text.paragraph_dedup import DedupResult, GroupDuplicates, dedup_document
from llamapipe.text.perplexity import bucket_for

if TYPE_CHECKING:
    from llamapipe.sources.commoncrawl.models import LanguageModel

SOURCE = "commoncrawl"

#: Removal reasons (stats.json keys).
REMOVED_TOO_SHORT = "too_short"
REMOVED_ALL_LINES_DUPLICATED = "all_lines_duplicated"
REMOVED_LANGUAGE = "language_not_kept"
REMOVED_LID_SCORE = "language_score_below_threshold"


def doc_id(segment: str, record_index: int) -> str:
    """Stable id: source, the WET file's name without extensions, the record's position."""
    stem = segment.rsplit("/", 1)[-1].split(".warc")[0]
    return f"{SOURCE}/{stem}/{record_index}"


@dataclass(slots=True)
class CrawlPage:
    """A WET record that passed the length filter, with its position in its file."""

    record: WetRecord
    index: int
    lines: list[str] = field(default_factory=list)


def iter_pages(
    source: str,
    min_length: int,
    on_skip: Callable[[str, str], None],
    on_short: Callable[[], None],
    cache_dir: Path | None = None,
    retries: int = 5,
) -> Iterator[CrawlPage]:
    """Records of one WET input longer than `min_length` (content characters, CCNet's rule)."""
    index = -1
    for record in read_wet(
        source, on_skip=on_skip, cache_dir=cache_dir, retries=retries, segment=segment_name(source)
    ):
        index += 1
        if len(record.raw_content) < min_length:
            on_short()
            continue
        yield CrawlPage(record, index, record.raw_content.split("\n"))


@dataclass(slots=True)
class FilteredPage:
    """A page after dedup and language id (perplexity filled in later)."""

    page: CrawlPage
    text: str
    line_ids: list[int]
    original_nlines: int
    original_length: int
    language: str
    language_score: float
    perplexity: float = -1.0  # set by `score_pages`
    bucket: str = "all"

    def meta(self) -> dict[str, Any]:
        rec = self.page.record
        meta = rec.to_meta()
        meta.update(
            length=len(self.text),
            nlines=len(self.line_ids),
            original_nlines=self.original_nlines,
            original_length=self.original_length,
            line_ids=self.line_ids,
            language=self.language,
            language_score=self.language_score,
        )
        return meta


#: Called with every page and its dedup result before language id (the dedup audit).
DedupObserver = Callable[[CrawlPage, DedupResult], None]


def dedup_and_identify(
    page: CrawlPage,
    group: GroupDuplicates,
    lid: LanguageIdentifier,
    languages: set[str],
    lid_threshold: float,
    removed: Callable[[str], None],
    line_hashes: np.ndarray | None = None,
    line_keep: np.ndarray | None = None,
    on_dedup: DedupObserver | None = None,
) -> FilteredPage | None:
    """CCNet order: paragraph dedup, then language id on the deduplicated text.
    `line_keep`: the page's keep flags from the hash pass (`shard_keep_mask`); else
    `line_hashes`: its line hashes when already known; else they are computed here."""
    result = dedup_document(page.lines, group, line_hashes, line_keep)
    if on_dedup is not None:
        on_dedup(page, result)
    if not result.kept_lines:
        removed(REMOVED_ALL_LINES_DUPLICATED)
        return None
    text = result.text
    language, score = lid.identify(text)
    if score < lid_threshold:
        removed(REMOVED_LID_SCORE)
        return None
    if language not in languages:
        removed(REMOVED_LANGUAGE)
        return None
    return FilteredPage(
        page=page,
        text=text,
        line_ids=result.line_ids,
        original_nlines=result.original_nlines,
        original_length=page.record.length,  # CCNet: the record's Content-Length
        language=language,
        language_score=score,
    )


def score_pages(pages: Sequence[FilteredPage], models: Mapping[str, LanguageModel]) -> None:
    """Set each page's perplexity and bucket under its language's model, language by language
    (each model scores all its pages in one call: see `PerplexityScorer.perplexities`)."""
    by_language: dict[str, list[FilteredPage]] = {}
    for page in pages:
        by_language.setdefault(page.language, []).append(page)
    for language, group in by_language.items():
        model = models[language]
        scores = model.scorer.perplexities([page.text for page in group])
        for page, perplexity in zip(group, scores, strict=True):
            page.perplexity = perplexity
            page.bucket = bucket_for(perplexity, model.cutoffs)


def filter_pages(
    pages: Sequence[CrawlPage],
    line_hashes: Sequence[np.ndarray | None] | None,
    group: GroupDuplicates,
    lid: LanguageIdentifier,
    models: Mapping[str, LanguageModel],
    lid_threshold: float,
    removed: Callable[[str], None],
    line_keep: Sequence[np.ndarray] | None = None,
    on_dedup: DedupObserver | None = None,
) -> list[FilteredPage]:
    """Dedup + language id + perplexity of a batch of pages, one step at a time.

    Returns the pages that passed language id (languages = the keys of `models`), in input
    order, with perplexity and bucket set. Each page gets exactly the computation it would get
    alone; running each step over the whole batch before the next keeps one model's tables hot
    in the CPU caches instead of alternating fastText, SentencePiece and KenLM per page, which
    measured 10-18% faster per page on the real sample shards (bench/bench_ccnet.py).
    Per page, `line_keep` (keep flags from the hash pass) or `line_hashes` may be given.
    """
    languages = set(models)
    passed = []
    for i, page in enumerate(pages):
        kept = dedup_and_identify(
            page,
            group,
            lid,
            languages,
            lid_threshold,
            removed,
            line_hashes[i] if line_hashes is not None else None,
            line_keep[i] if line_keep is not None else None,
            on_dedup,
        )
        if kept is not None:
            passed.append(kept)
    score_pages(passed, models)
    return passed
