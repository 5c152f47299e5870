"""Shard functions of the line-hash, filter and final exact-dedup sub-stages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.engine import FinalizeContext, ShardContext
from llamapipe.errors import InputError
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.wet.records import is_normal_skip
from llamapipe.sources.commoncrawl.dedup_audit import DedupAuditWriter, audit_path
from llamapipe.sources.commoncrawl.documents import (
    REMOVED_TOO_SHORT,
    SOURCE,
    CrawlPage,
    doc_id,
    filter_pages,
    iter_pages,
)
from llamapipe.sources.commoncrawl.groups import (
    HASHES_STAGE,
    hash_paths,
    line_refs_path,
    load_group,
    shard_keep,
)
from llamapipe.sources.commoncrawl.models import MODELS_STAGE, load_language_models
from llamapipe.text.ccnet_normalize import hash_lines
from llamapipe.text.dedup_keys import first_occurrences, sha1_hash64
from llamapipe.text.langid import LanguageIdentifier
from llamapipe.text.paragraph_dedup import DedupResult, index_shard

FILTERED_STAGE = "ingest/commoncrawl/filtered"
CLASSIFIED_STAGE = "ingest/commoncrawl/classified"
FINAL_STAGE = "ingest/commoncrawl"
CHANGED_SINCE_HASHED = "line count differs from the hash pass; rebuild the hashes stage"
#: Pages filtered together, step by step (`filter_pages`): a few MB of text, and large enough
#: that switching between the fastText, SentencePiece and KenLM tables is rare.
FILTER_BATCH_PAGES = 512


def _cache_dir(config: dict[str, Any]) -> Path | None:
    return Path(config["cache_dir"]) if config.get("cache_dir") else None


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
    ref = ctx.shard.inputs[0]
    arrays = []
    for page in iter_pages(
        ref,
        ctx.config["min_length"],
        _skip_reporter(ctx, ref),
        lambda: ctx.counters.removed(REMOVED_TOO_SHORT),
        _cache_dir(ctx.config),
        ctx.config["retries"],
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


def process_filtered(ctx: ShardContext) -> None:
    """Pass 2: paragraph dedup, language id, perplexity and bucket of every page of one shard.

    Every page's dedup result is written to `dedup/<shard>.parquet` (dedup_audit.py) before
    language id or the buckets drop it."""
    cfg = ctx.config
    ref = ctx.shard.inputs[0]
    hashes_dir = ctx.upstream_dir(HASHES_STAGE)
    group = load_group(hashes_dir, ctx.shard.params["group"])
    keep = shard_keep(hashes_dir, group, ctx.shard.index)
    offset = 0
    lid = LanguageIdentifier(cfg["lid_model"])
    models = load_language_models(ctx.upstream_dir(MODELS_STAGE), cfg["languages"])
    keep_buckets = set(cfg["lm"]["keep_buckets"])
    pages: list[CrawlPage] = []
    page_keep: list[np.ndarray] = []
    audit = DedupAuditWriter(ctx.output(str(audit_path(Path("."), ctx.shard.name))))

    def record_dedup(page: CrawlPage, result: DedupResult) -> None:
        rec = page.record
        audit.add(
            doc_id(rec.cc_segment, page.index),
            rec.url,
            rec.digest,
            result.original_nlines,
            rec.length,
            result.line_ids,
            len(result.text),
        )

    def flush(writer: Any) -> None:
        """Filter the pending batch (see `filter_pages`) and write its kept pages in order."""
        for kept in filter_pages(
            pages,
            None,
            group,
            lid,
            models,
            cfg["lid_threshold"],
            ctx.counters.removed,
            line_keep=page_keep,
            on_dedup=record_dedup,
        ):
            ctx.counters.add("lines_after_dedup", len(kept.line_ids))
            if kept.bucket not in keep_buckets:
                ctx.counters.removed(f"perplexity_bucket_{kept.bucket}")
                continue
            meta = kept.meta()
            meta["perplexity"] = kept.perplexity
            meta["bucket"] = kept.bucket
            writer.write(
                Document(
                    id=doc_id(kept.page.record.cc_segment, kept.page.index),
                    text=kept.text,
                    source=SOURCE,
                    meta=meta,
                )
            )
        pages.clear()
        page_keep.clear()

    with audit, ctx.document_writer() as writer:
        for page in iter_pages(
            ref,
            cfg["min_length"],
            _skip_reporter(ctx, ref),
            lambda: ctx.counters.removed(REMOVED_TOO_SHORT),
            _cache_dir(cfg),
            cfg["retries"],
        ):
            ctx.counters.add("docs_in")
            raw = page.record.raw_content
            ctx.counters.add("bytes_in", len(raw) if raw.isascii() else len(raw.encode("utf-8")))
            ctx.counters.add("lines_in", len(page.lines))
            end = offset + len(page.lines)
            if end > keep.size:
                raise InputError(f"{ref}: {CHANGED_SINCE_HASHED}")
            pages.append(page)
            page_keep.append(keep[offset:end])
            offset = end
            if len(pages) >= FILTER_BATCH_PAGES:
                flush(writer)
        flush(writer)
    if offset != keep.size:
        raise InputError(f"{ref}: {CHANGED_SINCE_HASHED}")


def document_hash(text: str) -> int:
    """64-bit exact-dedup key of a document's text (CCNet's SHA-1 hash, as its line hashes)."""
    return sha1_hash64(text.encode("utf-8"))


def dochash_path(stage_dir: Path, index: int) -> Path:
    return stage_dir / "dochashes" / f"{index:05d}.npy"


def first_occurrence_path(stage_dir: Path, index: int) -> Path:
    return stage_dir / "first_occurrence" / f"{index:05d}.npy"


def finalize_first_occurrences(ctx: FinalizeContext) -> None:
    """After all classified shards: which documents are the first occurrence of their text.

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
        target = first_occurrence_path(ctx.stage_dir, index)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.stem + ".tmp.npy")
        np.save(tmp, keep[offset : offset + size], allow_pickle=False)
        os.replace(tmp, target)
        offset += size
    ctx.counters.add("exact_duplicate_documents", int(hashes.size - keep.sum()))


def process_final(ctx: ShardContext) -> None:
    """Exact document dedup across every input and dump: the first occurrence wins.

    The classified stage's finalize step marked, over all shards in input order, which pages
    are the first with their text; this shard keeps those. Shards follow the configured input
    order, so "first" means first in the inputs (earlier dumps first when listed first).
    """
    upstream = ctx.upstream_dir(CLASSIFIED_STAGE)
    index = ctx.shard.index
    shard_path = upstream / "shards" / f"{index:05d}.parquet"
    dedup = ctx.config["exact_dedup"]
    keep = np.load(first_occurrence_path(upstream, index), allow_pickle=False) if dedup else None
    with ctx.document_writer() as writer:
        if not shard_path.exists():
            return
        for position, doc in enumerate(read_documents(shard_path)):
            ctx.counters.add("docs_in")
            if keep is not None and not keep[position]:
                ctx.counters.removed("exact_duplicate_document")
                continue
            writer.write(doc)
