"""The per-document CCNet steps shared by the sub-stages: read, dedup, language id, perplexity.

Kept apart from the stage functions so that the `ccnet-models` stage scores its cutoff sample
with exactly the same steps the `filtered` stage applies to every document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llamapipe.formats.documents import Document
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
REMOVED_REF_SCORE = "reference_score_below_threshold"
REMOVED_EXACT_DUPLICATE = "exact_duplicate_document"


def removed_bucket(bucket: str) -> str:
    return f"perplexity_bucket_{bucket}"


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
    on_short: Callable[[WetRecord, int], None],
    cache_dir: Path | None = None,
    retries: int = 5,
) -> Iterator[CrawlPage]:
    """Records of one WET input longer than `min_length` (content characters, CCNet's rule);
    `on_short` gets each shorter record and its position in the file."""
    index = -1
    for record in read_wet(
        source, on_skip=on_skip, cache_dir=cache_dir, retries=retries, segment=segment_name(source)
    ):
        index += 1
        if len(record.raw_content) < min_length:
            on_short(record, index)
            continue
        yield CrawlPage(record, index, record.raw_content.split("\n"))


def page_document(record: WetRecord, index: int) -> Document:
    """A record as it was read (its whole content, its WET fields): how a page removed before
    dedup (too short, every line a duplicate) reaches the removed writer."""
    return Document(
        id=doc_id(record.cc_segment, index),
        text=record.raw_content,
        source=SOURCE,
        meta=record.to_meta(),
    )


@dataclass(slots=True)
class ScoredPage:
    """A page after dedup and language id; perplexity and bucket are set (`score_pages`) when
    its language has a model, else stay None."""

    page: CrawlPage
    text: str
    line_ids: list[int]
    original_nlines: int
    original_length: int
    language: str
    language_score: float
    perplexity: float | None = None
    bucket: str | None = None

    def meta(self) -> dict[str, Any]:
        """The WET fields, CCNet's dedup fields and the scores (the stored attributes)."""
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
        if self.perplexity is not None:
            meta["perplexity"] = self.perplexity
            meta["bucket"] = self.bucket
        return meta

    def document(self) -> Document:
        rec = self.page.record
        return Document(
            id=doc_id(rec.cc_segment, self.page.index),
            text=self.text,
            source=SOURCE,
            meta=self.meta(),
        )


#: Called with every page and its dedup result before language id (the dedup audit).
DedupObserver = Callable[[CrawlPage, DedupResult], None]
#: CPU seconds of one named step (stats.json `filter_cpu_s`).
CpuObserver = Callable[[str, float], None]
#: The step names `score_batch` reports CPU seconds under.
STEP_DEDUP = "paragraph_dedup"
STEP_LID = "language_id"
STEP_PERPLEXITY = "perplexity"


def identify(page: CrawlPage, result: DedupResult, lid: LanguageIdentifier) -> ScoredPage:
    """Language id of the deduplicated text (CCNet order: dedup first); `result` keeps a line."""
    language, score = lid.identify(result.text)
    return ScoredPage(
        page=page,
        text=result.text,
        line_ids=result.line_ids,
        original_nlines=result.original_nlines,
        original_length=page.record.length,  # CCNet: the record's Content-Length
        language=language,
        language_score=score,
    )


def dedup_and_identify(
    page: CrawlPage,
    group: GroupDuplicates,
    lid: LanguageIdentifier,
    languages: set[str],
    lid_threshold: float,
) -> ScoredPage | None:
    """Dedup then language id, None unless a line is kept and the page is in `languages` with
    at least `lid_threshold` (the models stage's cutoff sample: filters.py has the stage rules)."""
    result = dedup_document(page.lines, group)
    if not result.kept_lines:
        return None
    scored = identify(page, result, lid)
    if scored.language_score < lid_threshold or scored.language not in languages:
        return None
    return scored


def score_pages(pages: Sequence[ScoredPage], models: Mapping[str, LanguageModel]) -> None:
    """Set perplexity and bucket of each page whose language has a model, language by language
    (each model scores all its pages in one call: see `PerplexityScorer.perplexities`)."""
    by_language: dict[str, list[ScoredPage]] = {}
    for page in pages:
        if page.language in models:
            by_language.setdefault(page.language, []).append(page)
    for language, group in by_language.items():
        model = models[language]
        scores = model.scorer.perplexities([page.text for page in group])
        for page, perplexity in zip(group, scores, strict=True):
            page.perplexity = perplexity
            page.bucket = bucket_for(perplexity, model.cutoffs)


def score_batch(
    pages: Sequence[CrawlPage],
    group: GroupDuplicates,
    lid: LanguageIdentifier,
    models: Mapping[str, LanguageModel],
    line_keep: Sequence[np.ndarray] | None = None,
    line_hashes: Sequence[np.ndarray | None] | None = None,
    on_dedup: DedupObserver | None = None,
    on_duplicated: Callable[[CrawlPage], None] | None = None,
    on_cpu: CpuObserver | None = None,
) -> list[ScoredPage]:
    """Dedup + language id + perplexity of a batch of pages, one step at a time.

    Returns every page that keeps a line (`on_duplicated` gets the others), in input order,
    with its language and score, and perplexity and bucket when its language has a model.
    Nothing is dropped on a score: the keep/drop decisions come later (filters.py). Each page
    gets exactly the computation it would get alone; scoring the whole batch with one model
    before the next keeps its tables hot in the CPU caches instead of alternating fastText,
    SentencePiece and KenLM per page, which measured 10-18% faster per page on the real
    sample shards (bench/bench_ccnet.py). Per page, `line_keep` (keep flags from the hash
    pass) or `line_hashes` may be given. `on_cpu` gets the CPU seconds of each step.
    """
    clock = time.thread_time
    dedup_s = lid_s = 0.0
    passed = []
    for i, page in enumerate(pages):
        start = clock()
        result = dedup_document(
            page.lines,
            group,
            line_hashes[i] if line_hashes is not None else None,
            line_keep[i] if line_keep is not None else None,
        )
        middle = clock()
        dedup_s += middle - start
        if on_dedup is not None:
            on_dedup(page, result)
        if not result.kept_lines:
            if on_duplicated is not None:
                on_duplicated(page)
            continue
        middle = clock()
        passed.append(identify(page, result, lid))
        lid_s += clock() - middle
    start = clock()
    score_pages(passed, models)
    if on_cpu is not None:
        on_cpu(STEP_DEDUP, dedup_s)
        on_cpu(STEP_LID, lid_s)
        on_cpu(STEP_PERPLEXITY, clock() - start)
    return passed
