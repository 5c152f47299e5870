"""C4 built from Common Crawl WET with the C4 rules (``sources.c4.from_wet = true``).

Four stages (three without span dedup), because the span dedup is global across all shards and
the language cut is a cheap decision on a stored score:

1. ``ingest/c4/candidates`` (one shard per group of WET files): line and page rules, bad words,
   fastText LID (the page's top ``language`` and ``language_score``, stored in meta: the
   attributes, no cut); write the pages plus ``keys/<shard>.npy`` (a 64-bit key per window of
   three consecutive sentences, in (page, window) order) and ``span_counts/<shard>.npy`` (the
   number of windows of each page, to map key positions back to pages).
2. ``ingest/c4/decision``: the language cut (``language``, ``min_language_score``: the decision
   keys, this stage's whole config) on the stored scores; the kept pages with their keys and
   span counts. Editing a decision key re-runs this stage and the two after it (whose input it
   is), never the rules and the LID.
3. ``ingest/c4/dedup``: the bucketed first-occurrence pass over the kept pages' keys.
4. ``ingest/c4``: remove the sentences of every repeated span but its first occurrence, drop
   pages left with fewer than 5 sentences, write the final documents.

The cut must come before the dedup: a span of a page the cut drops must not count as the
"first" copy of a span on a page it keeps, or the kept page would lose sentences that a build
with that cut from scratch keeps.

Cross-source duplicates with CommonCrawl: when both sources read the same crawl, a page can pass
both pipelines. Every document keeps the page's ``url`` and WET ``digest`` (the same values the
CCNet documents carry), so the mix stage can recognise a page drawn twice and count it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.filters import Filter
from llamapipe.filters.c4 import BadWords, C4PageRules, LanguageCut, LanguageScore
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.wet.listing import expand_inputs
from llamapipe.formats.wet.parse import read_wet
from llamapipe.formats.wet.records import is_normal_skip
from llamapipe.sources.dedup import (
    KEYS_DIR,
    first_occurrence_stage,
    load_dropped_positions,
    write_keys,
)
from llamapipe.text.c4_rules import (
    BadWordMatcher,
    C4LineRules,
    load_badwords,
    page_sentences,
    remove_sentences,
    span_keys,
)
from llamapipe.text.langid import load_model

STAGE = "ingest/c4"
CANDIDATES_STAGE = "ingest/c4/candidates"
DECISION_STAGE = "ingest/c4/decision"
DEDUP_STAGE = "ingest/c4/dedup"
SOURCE = "c4"
SPAN_COUNTS_DIR = "span_counts"


@dataclass(frozen=True)
class C4CandidatesConfig(StageConfig):
    """What ``ingest/c4/candidates`` reads: the WET inputs, the rules, the LID model."""

    inputs: tuple[str, ...]
    files_per_shard: int
    min_words_per_line: int
    min_sentences: int
    max_word_length: int
    terminal_punctuation: tuple[str, ...]
    policy_substrings: tuple[str, ...]
    drop_javascript_lines: bool
    badwords_path: str | None
    lid_model: str | None
    dedup_spans: bool
    span_sentences: int
    cache_dir: str | None
    retries: int
    write_removed: bool = added_key()

    def line_rules(self) -> C4LineRules:
        return C4LineRules(
            min_words_per_line=self.min_words_per_line,
            min_sentences=self.min_sentences,
            max_word_length=self.max_word_length,
            terminal_punctuation=self.terminal_punctuation,
            policy_substrings=self.policy_substrings,
            drop_javascript_lines=self.drop_javascript_lines,
        )


@dataclass(frozen=True)
class C4DecisionConfig(StageConfig):
    """What ``ingest/c4/decision`` reads: the decision keys only."""

    language: str
    min_language_score: float
    write_removed: bool = added_key()


@dataclass(frozen=True)
class C4FinalConfig(StageConfig):
    """What ``ingest/c4`` reads: how repeated spans are removed."""

    span_sentences: int
    min_sentences: int
    dedup_spans: bool
    write_removed: bool = added_key()


def candidate_filters(cfg: C4CandidatesConfig) -> list[Filter]:
    """The page rules, in order (add a rule here: README "Add a filter"); the last one only
    stores the language scores."""
    return [
        C4PageRules(cfg.line_rules()),
        BadWords(BadWordMatcher(load_badwords(cfg.badwords_path))),
        LanguageScore(load_model(cfg.lid_model)),
    ]


def decision_filters(cfg: C4DecisionConfig) -> list[Filter]:
    return [LanguageCut(cfg.language, cfg.min_language_score)]


def _doc_prefix(source: str) -> str:
    name = source.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".warc.wet.gz", ".wet.gz", ".gz", ".txt"):
        name = name.removesuffix(suffix)
    return name


def process_candidates(ctx: ShardContext) -> None:
    cfg: C4CandidatesConfig = ctx.config
    filters = candidate_filters(cfg)
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else None
    keys: list[int] = []
    span_counts: list[int] = []
    with ctx.document_writer() as writer, ctx.filter_runner(filters) as runner:
        for source in ctx.shard.inputs:
            prefix = _doc_prefix(source)

            def on_skip(
                reason: str, detail: str, _source: str = source, _prefix: str = prefix
            ) -> None:
                if is_normal_skip(reason):  # a record with no text, a warcinfo record, ...
                    # not a page: kept in removed/ with the reader's detail, as a removal
                    record = Document(f"{SOURCE}/{_prefix}/skipped", "", SOURCE, {"detail": detail})
                    runner.reject(record, "wet_reader", reason)
                else:
                    ctx.counters.error(_source, None, f"{reason}: {detail}")

            records = read_wet(source, on_skip=on_skip, cache_dir=cache_dir, retries=cfg.retries)
            for n, record in enumerate(records):
                ctx.counters.add("docs_in")
                page_text = f"{record.title}\n{record.raw_content}"
                ctx.counters.add("bytes_in", len(page_text.encode("utf-8")))
                meta = {
                    "url": record.url,
                    "timestamp": record.date_download,
                    "digest": record.digest,
                    "cc_segment": record.cc_segment,
                }
                doc = Document(f"{SOURCE}/{prefix}/{n}", page_text, SOURCE, meta)
                if not runner.keep(doc):
                    continue
                page_keys = span_keys(page_sentences(doc.text.split("\n")), cfg.span_sentences)
                keys.extend(page_keys)
                span_counts.append(len(page_keys))
                writer.write(doc)
    for reason, count in filters[0].lines_removed.items():
        ctx.counters.add(f"lines_removed_{reason}", count)
    write_keys(ctx, keys)
    np.save(ctx.output(f"{SPAN_COUNTS_DIR}/{ctx.shard.name}.npy"), np.array(span_counts, np.int64))


def process_decision(ctx: ShardContext) -> None:
    """The language cut on one candidate shard: kept pages, their keys and span counts."""
    index = ctx.shard.index
    candidates = ctx.upstream_dir(CANDIDATES_STAGE)
    counts = np.load(candidates / SPAN_COUNTS_DIR / f"{index:05d}.npy")
    keys = np.load(candidates / KEYS_DIR / f"{index:05d}.npy")
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    kept: list[int] = []
    with ctx.document_writer() as writer, ctx.filter_runner(decision_filters(ctx.config)) as runner:
        for row, doc in enumerate(read_documents(candidates / "shards" / f"{index:05d}.parquet")):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            if runner.keep(doc):
                writer.write(doc)
                kept.append(row)
    rows = np.array(kept, np.int64)
    key_parts = [keys[starts[r] : starts[r + 1]] for r in kept]
    write_keys(ctx, np.concatenate(key_parts) if key_parts else np.zeros(0, np.uint64))
    np.save(ctx.output(f"{SPAN_COUNTS_DIR}/{ctx.shard.name}.npy"), counts[rows].astype(np.int64))


def process_final(ctx: ShardContext) -> None:
    cfg: C4FinalConfig = ctx.config
    index = ctx.shard.index
    kept_pages = ctx.upstream_dir(DECISION_STAGE)
    span = cfg.span_sentences
    dropped = np.zeros(0, np.int64)
    if cfg.dedup_spans:
        dropped = load_dropped_positions(ctx.upstream_dir(DEDUP_STAGE), index)
    counts = np.load(kept_pages / SPAN_COUNTS_DIR / f"{index:05d}.npy")
    starts = np.concatenate([[0], np.cumsum(counts)])
    with ctx.document_writer() as writer, ctx.filter_runner([]) as runner:
        shard_path = kept_pages / "shards" / f"{index:05d}.parquet"
        for row, doc in enumerate(read_documents(shard_path)):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            lo, hi = np.searchsorted(dropped, [starts[row], starts[row + 1]])
            windows = dropped[lo:hi] - starts[row]
            if len(windows):
                drop = {int(w) + k for w in windows for k in range(span)}
                lines = remove_sentences(doc.text.split("\n"), drop)
                ctx.counters.add("spans_removed", len(windows))
                if len(page_sentences(lines)) < cfg.min_sentences:
                    # decided by the dedup across all shards: the page as the rules left it
                    runner.reject(doc, "span_dedup", "too_few_sentences_after_dedup")
                    continue
                doc = Document(doc.id, "\n".join(lines), doc.source, doc.meta)
            writer.write(doc)


def build_wet_stages(
    inputs: list[str], files_per_shard: int, rules: Any, write_removed: bool = False
) -> list[StageSpec]:
    """The C4-from-WET stages for WET ``inputs`` and a ``C4FromWetConfig`` (tests use this)."""
    candidates_cfg = C4CandidatesConfig.from_section(
        rules, inputs=tuple(inputs), files_per_shard=files_per_shard, write_removed=write_removed
    )
    cache = Path(rules.cache_dir) if rules.cache_dir else None

    def plan() -> list[ShardSpec]:
        files = expand_inputs(inputs, cache_dir=cache, retries=rules.retries)
        step = files_per_shard
        return [
            ShardSpec(index=i, inputs=tuple(files[start : start + step]))
            for i, start in enumerate(range(0, len(files), step))
        ]

    def plan_shards() -> list[ShardSpec]:
        return [ShardSpec(index=s.index) for s in plan()]

    stages = [
        StageSpec(
            name=CANDIDATES_STAGE,
            config=candidates_cfg,
            plan=plan,
            process=process_candidates,
            description="C4 rules on WET pages: line rules, page rules, bad words; LID scores",
        ),
        StageSpec(
            name=DECISION_STAGE,
            config=C4DecisionConfig.from_section(rules, write_removed=write_removed),
            plan=plan_shards,
            process=process_decision,
            upstream=[CANDIDATES_STAGE],
            description="C4 language cut on the stored LID scores",
        ),
    ]
    upstream = [DECISION_STAGE]
    if rules.dedup_spans:
        stages.append(
            first_occurrence_stage(
                DEDUP_STAGE,
                DECISION_STAGE,
                rules.dedup_buckets,
                "repeated three-sentence spans across all C4 shards",
            )
        )
        upstream.append(DEDUP_STAGE)
    stages.append(
        StageSpec(
            name=STAGE,
            config=C4FinalConfig.from_section(rules, write_removed=write_removed),
            plan=plan_shards,
            process=process_final,
            upstream=upstream,
            description="C4 built from WET: one copy of each repeated span",
        )
    )
    return stages


def build_stages_from_wet(cfg: Any) -> list[StageSpec]:
    """Stages for ``sources.c4`` with ``from_wet = true`` (called by sources/c4.py)."""
    section = cfg.sources.c4
    return build_wet_stages(
        section.inputs, section.files_per_shard, section.wet_rules, write_removed_for(cfg, "c4")
    )
