"""Shard functions of the line-hash, scoring, decision and final exact-dedup sub-stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.engine import FinalizeContext, ShardContext
from llamapipe.errors import InputError
from llamapipe.filters.runner import FilterRunner
from llamapipe.formats.documents import read_documents
from llamapipe.formats.wet.records import WetRecord, is_normal_skip
from llamapipe.sources.commoncrawl.dedup_audit import DedupAuditWriter, audit_path
from llamapipe.sources.commoncrawl.documents import (
    REMOVED_ALL_LINES_DUPLICATED,
    REMOVED_EXACT_DUPLICATE,
    REMOVED_TOO_SHORT,
    CrawlPage,
    doc_id,
    iter_pages,
    page_document,
    score_batch,
)
from llamapipe.sources.commoncrawl.filters import (
    DEDUP_FILTER,
    EXACT_DEDUP_FILTER,
    MIN_LENGTH_FILTER,
    decision_filters,
)
from llamapipe.sources.commoncrawl.groups import (
    HASHES_STAGE,
    cache_path,
    hash_paths,
    line_refs_path,
    load_group,
    shard_keep,
)
from llamapipe.sources.commoncrawl.models import MODELS_STAGE, LanguageModel, load_language_models
from llamapipe.sources.commoncrawl.ref_scores import read_ref_scores
from llamapipe.sources.commoncrawl.stage_configs import (
    FilteredConfig,
    FinalConfig,
    HashesConfig,
    ScoredConfig,
)
from llamapipe.text.ccnet_normalize import hash_lines
from llamapipe.text.dedup_keys import first_occurrences, sha1_hash64
from llamapipe.text.langid import LanguageIdentifier
from llamapipe.text.paragraph_dedup import DedupResult, GroupDuplicates, index_shard

SCORED_STAGE = "ingest/commoncrawl/scored"
CLASSIFIED_STAGE = "ingest/commoncrawl/classified"
FILTERED_STAGE = "ingest/commoncrawl/filtered"
FINAL_STAGE = "ingest/commoncrawl"
CHANGED_SINCE_HASHED = "line count differs from the hash pass; rebuild the hashes stage"
#: Pages scored together, step by step (`score_batch`): a few MB of text, and large enough
#: that switching between the fastText, SentencePiece and KenLM tables is rare.
FILTER_BATCH_PAGES = 512


def _skip_reporter(ctx: ShardContext, ref: str):
    """Skipped WET/WARC records: all counted by reason; corrupt ones also reported as input
    errors (a record with no text, a WARC request or metadata record, a redirect or an image
    response are normal in crawl files, not errors)."""

    def on_skip(reason: str, detail: str) -> None:
        ctx.counters.removed(reason)
        if not is_normal_skip(reason):
            ctx.counters.error(ref, None, detail)

    return on_skip


def process_hashes(ctx: ShardContext) -> None:
    """Pass 1: the shard's distinct line hashes with their document counts, and per line its
    hash index and in-document repeat flag (`index_shard`; layout in groups.py)."""
    cfg: HashesConfig = ctx.config
    ref = ctx.shard.inputs[0]
    arrays = []

    def on_short(_record: WetRecord, _index: int) -> None:
        ctx.counters.removed(REMOVED_TOO_SHORT)

    for page in iter_pages(
        ref, cfg.min_length, _skip_reporter(ctx, ref), on_short, cache_path(cfg), cfg.retries
    ):
        ctx.counters.add("docs_in")
        arrays.append(hash_lines(page.lines))
    shard, refs = index_shard(arrays)
    del arrays
    hashes_path, counts_path = hash_paths(Path("."), ctx.shard.index)
    shard.save(ctx.output(str(hashes_path)), ctx.output(str(counts_path)))
    refs.save(ctx.output(str(line_refs_path(Path("."), ctx.shard.index))))
    ctx.counters.add("lines", refs.n_lines)
    ctx.counters.add("unique_lines", int(shard.hashes.size))
    ctx.counters.add("hash_bytes", shard.nbytes + refs.nbytes)


class _ScoreBatches:
    """Pages of one shard collected into batches of FILTER_BATCH_PAGES, each scored step by
    step (`score_batch`) and written in reading order: every page's dedup result to the audit,
    the pages that keep a line to the shard with their scores, the others to the runner."""

    def __init__(
        self,
        ctx: ShardContext,
        group: GroupDuplicates,
        models: dict[str, LanguageModel],
        audit: DedupAuditWriter,
        runner: FilterRunner,
        writer: Any,
    ) -> None:
        self.ctx = ctx
        self.group = group
        self.lid = LanguageIdentifier(ctx.config.lid_model)
        self.models = models
        self.audit = audit
        self.runner = runner
        self.writer = writer
        self.pages: list[CrawlPage] = []
        self.line_keep: list[np.ndarray] = []

    def add(self, page: CrawlPage, line_keep: np.ndarray) -> None:
        self.pages.append(page)
        self.line_keep.append(line_keep)
        if len(self.pages) >= FILTER_BATCH_PAGES:
            self.flush()

    def _record_dedup(self, page: CrawlPage, result: DedupResult) -> None:
        rec = page.record
        self.audit.add(
            doc_id(rec.cc_segment, page.index),
            rec.url,
            rec.digest,
            result.original_nlines,
            rec.length,
            result.line_ids,
            len(result.text),
        )

    def _duplicated(self, page: CrawlPage) -> None:
        doc = page_document(page.record, page.index)
        self.runner.reject(doc, DEDUP_FILTER, REMOVED_ALL_LINES_DUPLICATED)

    def flush(self) -> None:
        counters = self.ctx.counters
        for scored in score_batch(
            self.pages,
            self.group,
            self.lid,
            self.models,
            line_keep=self.line_keep,
            on_dedup=self._record_dedup,
            on_duplicated=self._duplicated,
            on_cpu=counters.filter_seconds,
        ):
            counters.add("lines_after_dedup", len(scored.line_ids))
            self.writer.write(scored.document())
        self.pages.clear()
        self.line_keep.clear()


def process_scored(ctx: ShardContext) -> None:
    """Pass 2: paragraph dedup of every page of one shard against its group, then language id
    of each page that keeps a line, perplexity and bucket of those in a language with a model.

    Every page's dedup result goes to `dedup/<shard>.parquet` (dedup_audit.py). Nothing is
    dropped on a score here: the filtered stage decides (filters.py), so that editing a
    threshold re-runs only that step."""
    cfg: ScoredConfig = ctx.config
    ref = ctx.shard.inputs[0]
    hashes_dir = ctx.upstream_dir(HASHES_STAGE)
    group = load_group(hashes_dir, ctx.shard.params["group"])
    keep = shard_keep(hashes_dir, group, ctx.shard.index)
    models = load_language_models(ctx.upstream_dir(MODELS_STAGE), list(cfg.languages))
    audit = DedupAuditWriter(ctx.output(str(audit_path(Path("."), ctx.shard.name))))
    offset = 0
    with audit, ctx.filter_runner([]) as runner, ctx.document_writer() as writer:

        def on_short(record: WetRecord, index: int) -> None:
            runner.reject(page_document(record, index), MIN_LENGTH_FILTER, REMOVED_TOO_SHORT)

        batches = _ScoreBatches(ctx, group, models, audit, runner, writer)
        for page in iter_pages(
            ref, cfg.min_length, _skip_reporter(ctx, ref), on_short, cache_path(cfg), cfg.retries
        ):
            _count_input(ctx, page)
            end = offset + len(page.lines)
            if end > keep.size:
                raise InputError(f"{ref}: {CHANGED_SINCE_HASHED}")
            batches.add(page, keep[offset:end])
            offset = end
        batches.flush()
    if offset != keep.size:
        raise InputError(f"{ref}: {CHANGED_SINCE_HASHED}")


def _count_input(ctx: ShardContext, page: CrawlPage) -> None:
    ctx.counters.add("docs_in")
    raw = page.record.raw_content
    ctx.counters.add("bytes_in", len(raw) if raw.isascii() else len(raw.encode("utf-8")))
    ctx.counters.add("lines_in", len(page.lines))


def _shard_path(stage_dir: Path, index: int) -> Path:
    return stage_dir / "shards" / f"{index:05d}.parquet"


def process_filtered(ctx: ShardContext) -> None:
    """The decision step: the stored scores of each scored page against the configured cuts
    (filters.py, in CCNet's order), kept pages written with their P(reference) added, and
    their text hashes for the final exact dedup. No model is loaded: seconds per shard."""
    cfg: FilteredConfig = ctx.config
    index = ctx.shard.index
    shard_path = _shard_path(ctx.upstream_dir(SCORED_STAGE), index)
    ref_scores = None
    if cfg.ref_threshold is not None:
        ref_scores = read_ref_scores(ctx.upstream_dir(CLASSIFIED_STAGE), index)
    hashes: list[int] = []
    position = 0
    with ctx.filter_runner(decision_filters(cfg)) as runner, ctx.document_writer() as writer:
        for position, doc in enumerate(read_documents(shard_path), start=1):
            ctx.counters.add("docs_in")
            if ref_scores is not None:
                ref_scores.attach(doc, position - 1)
            if runner.keep(doc):
                hashes.append(document_hash(doc.text))
                writer.write(doc)
    if ref_scores is not None:
        ref_scores.check_count(position, shard_path)
    out = ctx.output(str(dochash_path(Path("."), index)))
    np.save(out, np.asarray(hashes, dtype=np.uint64), allow_pickle=False)


def document_hash(text: str) -> int:
    """64-bit exact-dedup key of a document's text (CCNet's SHA-1 hash, as its line hashes)."""
    return sha1_hash64(text.encode("utf-8"))


def dochash_path(stage_dir: Path, index: int) -> Path:
    return stage_dir / "dochashes" / f"{index:05d}.npy"


def first_occurrence_path(stage_dir: Path, index: int) -> Path:
    return stage_dir / "first_occurrence" / f"{index:05d}.npy"


def finalize_first_occurrences(ctx: FinalizeContext) -> None:
    """After all filtered shards: which documents are the first occurrence of their text.

    One global pass, in input order (shard index, then position): the document hashes of all
    shards are concatenated, stably sorted, and the first of each run of equal hashes is kept.
    Writes one boolean mask per shard, read by the final stage's shards. Memory: ~17 bytes
    per document, once (a per-shard lookup of all earlier shards would reread O(shards^2)).
    """
    paths = sorted((ctx.stage_dir / "dochashes").glob("*.npy"))
    indexes = [int(p.stem) for p in paths]
    arrays = [np.load(p, allow_pickle=False) for p in paths]
    sizes = [a.size for a in arrays]
    hashes = np.concatenate(arrays) if arrays else np.empty(0, np.uint64)
    del arrays
    keep = first_occurrences(hashes)
    offset = 0
    for index, size in zip(indexes, sizes, strict=True):
        relpath = first_occurrence_path(Path("."), index)
        with ctx.output(str(relpath)) as tmp:
            np.save(tmp, keep[offset : offset + size], allow_pickle=False)
        offset += size
    ctx.counters.add("exact_duplicate_documents", int(hashes.size - keep.sum()))


def process_final(ctx: ShardContext) -> None:
    """Exact document dedup across every input and dump: the first occurrence wins.

    The filtered stage's finalize step marked, over all shards in input order, which pages
    are the first with their text; this shard keeps those. Shards follow the configured input
    order, so "first" means first in the inputs (earlier dumps first when listed first).
    """
    cfg: FinalConfig = ctx.config
    upstream = ctx.upstream_dir(FILTERED_STAGE)
    index = ctx.shard.index
    shard_path = _shard_path(upstream, index)
    keep = None
    if cfg.exact_dedup:
        keep = np.load(first_occurrence_path(upstream, index), allow_pickle=False)
    with ctx.filter_runner([]) as runner, ctx.document_writer() as writer:
        if not shard_path.exists():
            return
        for position, doc in enumerate(read_documents(shard_path)):
            ctx.counters.add("docs_in")
            if keep is not None and not keep[position]:
                runner.reject(doc, EXACT_DEDUP_FILTER, REMOVED_EXACT_DUPLICATE)
                continue
            writer.write(doc)
