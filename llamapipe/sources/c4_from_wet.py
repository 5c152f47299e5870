"""C4 built from Common Crawl WET with the C4 rules (``sources.c4.from_wet = true``).

Three stages, like the GitHub source, because the span dedup is global across all shards:

1. ``ingest/c4/candidates`` (one shard per group of WET files): line and page rules, bad words,
   English LID; write the surviving pages plus ``keys/<shard>.npy`` (a 64-bit key per window of
   three consecutive sentences, in (page, window) order) and ``span_counts/<shard>.npy`` (the
   number of windows of each page, to map key positions back to pages).
2. ``ingest/c4/dedup``: the bucketed first-occurrence pass over those keys.
3. ``ingest/c4``: remove the sentences of every repeated span but its first occurrence, drop
   pages left with fewer than 5 sentences, write the final documents.

Cross-source duplicates with CommonCrawl: when both sources read the same crawl, a page can pass
both pipelines. Every document keeps the page's ``url`` and WET ``digest`` (the same values the
CCNet documents carry), so the mix stage can recognise a page drawn twice and count it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.wet.listing import expand_inputs
from llamapipe.formats.wet.parse import read_wet
from llamapipe.formats.wet.records import is_normal_skip
from llamapipe.sources.dedup import first_occurrence_stage, load_dropped_positions, write_keys
from llamapipe.text.c4_rules import (
    BadWordMatcher,
    C4LineRules,
    clean_page,
    load_badwords,
    page_sentences,
    remove_sentences,
    span_keys,
)
from llamapipe.text.langid import load_model

STAGE = "ingest/c4"
CANDIDATES_STAGE = "ingest/c4/candidates"
DEDUP_STAGE = "ingest/c4/dedup"
SOURCE = "c4"
SPAN_COUNTS_DIR = "span_counts"


def _line_rules(cfg: dict[str, Any]) -> C4LineRules:
    return C4LineRules(
        min_words_per_line=cfg["min_words_per_line"],
        min_sentences=cfg["min_sentences"],
        max_word_length=cfg["max_word_length"],
        terminal_punctuation=tuple(cfg["terminal_punctuation"]),
        policy_substrings=tuple(cfg["policy_substrings"]),
        drop_javascript_lines=cfg["drop_javascript_lines"],
    )


class EnglishFilter:
    """fastText LID on the whole cleaned page (lines joined by spaces), unrounded score."""

    def __init__(self, language: str, min_score: float, model_path: str | None) -> None:
        self.label = f"__label__{language}"
        self.min_score = min_score
        self.model = load_model(model_path)

    def score(self, text: str) -> tuple[str, float]:
        labels, scores = self.model.predict(" ".join(text.split("\n")), k=1)
        return labels[0].removeprefix("__label__"), float(scores[0])

    def keep(self, language: str, score: float) -> bool:
        return f"__label__{language}" == self.label and score >= self.min_score


def _doc_prefix(source: str) -> str:
    name = source.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".warc.wet.gz", ".wet.gz", ".gz", ".txt"):
        name = name.removesuffix(suffix)
    return name


def process_candidates(ctx: ShardContext) -> None:
    cfg = ctx.config
    rules = _line_rules(cfg)
    badwords = BadWordMatcher(load_badwords(cfg["badwords_path"]))
    lid = EnglishFilter(cfg["language"], cfg["min_language_score"], cfg["lid_model"])
    span = cfg["span_sentences"]
    cache_dir = Path(cfg["cache_dir"]) if cfg["cache_dir"] else None
    keys: list[int] = []
    span_counts: list[int] = []
    with ctx.document_writer() as writer:
        for source in ctx.shard.inputs:

            def on_skip(reason: str, detail: str, _source: str = source) -> None:
                if is_normal_skip(reason):  # a record with no text, a warcinfo record, ...
                    ctx.counters.removed(reason)
                else:
                    ctx.counters.error(_source, None, f"{reason}: {detail}")

            prefix = _doc_prefix(source)
            for n, record in enumerate(
                read_wet(source, on_skip=on_skip, cache_dir=cache_dir, retries=cfg["retries"])
            ):
                ctx.counters.add("docs_in")
                page_text = f"{record.title}\n{record.raw_content}"
                ctx.counters.add("bytes_in", len(page_text.encode("utf-8")))
                page = clean_page(page_text, rules)
                for reason, count in page.lines_removed.items():
                    ctx.counters.add(f"lines_removed_{reason}", count)
                if page.lines is None:
                    ctx.counters.removed(page.reason or "unknown")
                    continue
                text = "\n".join(page.lines)
                if badwords.find(text) is not None:
                    ctx.counters.removed("bad_word")
                    continue
                language, score = lid.score(text)
                if not lid.keep(language, score):
                    ctx.counters.removed("language")
                    continue
                page_keys = span_keys(page_sentences(page.lines), span)
                keys.extend(page_keys)
                span_counts.append(len(page_keys))
                meta = {
                    "url": record.url,
                    "timestamp": record.date_download,
                    "digest": record.digest,
                    "cc_segment": record.cc_segment,
                    "language": language,
                    "language_score": round(score, 4),
                }
                writer.write(Document(f"{SOURCE}/{prefix}/{n}", text, SOURCE, meta))
    write_keys(ctx, keys)
    np.save(ctx.output(f"{SPAN_COUNTS_DIR}/{ctx.shard.name}.npy"), np.array(span_counts, np.int64))


def process_final(ctx: ShardContext) -> None:
    cfg = ctx.config
    index = ctx.shard.index
    candidates = ctx.upstream_dir(CANDIDATES_STAGE)
    span = cfg["span_sentences"]
    dropped = np.zeros(0, np.int64)
    if cfg["dedup_spans"]:
        dropped = load_dropped_positions(ctx.upstream_dir(DEDUP_STAGE), index)
    counts = np.load(candidates / SPAN_COUNTS_DIR / f"{index:05d}.npy")
    starts = np.concatenate([[0], np.cumsum(counts)])
    with ctx.document_writer() as writer:
        shard_path = candidates / "shards" / f"{index:05d}.parquet"
        for row, doc in enumerate(read_documents(shard_path)):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            lo, hi = np.searchsorted(dropped, [starts[row], starts[row + 1]])
            windows = dropped[lo:hi] - starts[row]
            if len(windows):
                drop = {int(w) + k for w in windows for k in range(span)}
                lines = remove_sentences(doc.text.split("\n"), drop)
                ctx.counters.add("spans_removed", len(windows))
                if len(page_sentences(lines)) < cfg["min_sentences"]:
                    ctx.counters.removed("too_few_sentences_after_dedup")
                    continue
                doc = Document(doc.id, "\n".join(lines), doc.source, doc.meta)
            writer.write(doc)


def build_wet_stages(inputs: list[str], files_per_shard: int, rules: Any) -> list[StageSpec]:
    """The C4-from-WET stages for WET ``inputs`` and a ``C4FromWetConfig`` (tests use this)."""
    cfg = rules.model_dump()
    cfg["inputs"] = list(inputs)
    cfg["files_per_shard"] = files_per_shard
    cache = Path(cfg["cache_dir"]) if cfg["cache_dir"] else None

    def plan() -> list[ShardSpec]:
        files = expand_inputs(inputs, cache_dir=cache, retries=cfg["retries"])
        step = files_per_shard
        return [
            ShardSpec(index=i, inputs=tuple(files[start : start + step]))
            for i, start in enumerate(range(0, len(files), step))
        ]

    def plan_final() -> list[ShardSpec]:
        return [ShardSpec(index=s.index) for s in plan()]

    candidates = StageSpec(
        name=CANDIDATES_STAGE,
        config=cfg,
        plan=plan,
        process=process_candidates,
        description="C4 rules on WET pages: line rules, page rules, bad words, English LID",
    )
    final_cfg = {
        "span_sentences": cfg["span_sentences"],
        "min_sentences": cfg["min_sentences"],
        "dedup_spans": cfg["dedup_spans"],
    }
    stages = [candidates]
    upstream = [CANDIDATES_STAGE]
    if cfg["dedup_spans"]:
        stages.append(
            first_occurrence_stage(
                DEDUP_STAGE,
                CANDIDATES_STAGE,
                cfg["dedup_buckets"],
                "repeated three-sentence spans across all C4 shards",
            )
        )
        upstream.append(DEDUP_STAGE)
    stages.append(
        StageSpec(
            name=STAGE,
            config=final_cfg,
            plan=plan_final,
            process=process_final,
            upstream=upstream,
            description="C4 built from WET: one copy of each repeated span",
        )
    )
    return stages


def build_stages_from_wet(cfg: Any) -> list[StageSpec]:
    """Stages for ``sources.c4`` with ``from_wet = true`` (called by sources/c4.py)."""
    section = cfg.sources.c4
    return build_wet_stages(section.inputs, section.files_per_shard, section.wet_rules)
