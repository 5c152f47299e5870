"""The ArXiv source: LaTeX source archives -> main file -> cleaned body -> documents.

One stage, ``ingest/arxiv``, one shard per input (a bulk tar of thousands of papers, a single
paper, or a directory). Papers are independent, so there is no cross-shard step; the paper's
own cleaning is ``llamapipe.text.latex.clean_paper``.
"""

from __future__ import annotations

from typing import Any

from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.formats.arxiv import ArchiveLimits, Paper, PaperFailure, decode_tex, iter_papers
from llamapipe.formats.documents import Document
from llamapipe.formats.inputs import expand_inputs
from llamapipe.text.latex import clean_paper

STAGE = "ingest/arxiv"
#: Failure reasons that are damaged inputs (counted as errors naming the file), not papers
#: without usable LaTeX: a cut-off archive, a 0-byte file, a ``.gz`` that is not gzip.
INPUT_ERRORS = frozenset({"corrupt_archive", "empty_file", "not_gzip"})
SOURCE = "arxiv"


def _limits(cfg: dict[str, Any]) -> ArchiveLimits:
    return ArchiveLimits(
        max_member_bytes=cfg["max_member_bytes"],
        max_total_bytes=cfg["max_total_bytes"],
        max_members=cfg["max_members"],
    )


def paper_to_document(paper: Paper, ctx: ShardContext, used_ids: set[str]) -> Document | None:
    """Decode and clean one paper; count why when it yields no document."""
    for reason, n in paper.skipped.items():
        ctx.counters.add(f"members_skipped_{reason}", n)
    texts: dict[str, str] = {}
    for name, data in paper.files.items():
        ctx.counters.add("bytes_in", len(data))
        text = decode_tex(data)
        if text is None:
            ctx.counters.add("members_skipped_undecodable")
            continue
        texts[name] = text
    if not texts:
        ctx.counters.removed("undecodable" if paper.files else "no_latex")
        return None
    cleaned = clean_paper(texts, paper.members)
    if cleaned.text is None:
        ctx.counters.removed(cleaned.reason or "unknown")
        return None
    if len(cleaned.text) < ctx.config["min_chars"]:
        ctx.counters.removed("too_short")
        return None
    doc_id = f"{SOURCE}/{paper.paper_id}"
    n = 1
    while doc_id in used_ids:  # the same id twice in one input (two versions): keep both
        n += 1
        doc_id = f"{SOURCE}/{paper.paper_id}#{n}"
    used_ids.add(doc_id)
    meta = {
        "paper_id": paper.paper_id,
        "origin": paper.origin,
        "main_file": cleaned.main,
        "tex_files": len(texts),
        "macros": cleaned.macros,
    }
    return Document(id=doc_id, text=cleaned.text, source=SOURCE, meta=meta)


def process_shard(ctx: ShardContext) -> None:
    limits = _limits(ctx.config)
    used_ids: set[str] = set()
    with ctx.document_writer() as writer:
        for path in ctx.shard.inputs:
            for item in iter_papers(path, limits):
                ctx.counters.add("docs_in")
                if isinstance(item, PaperFailure):
                    ctx.counters.removed(item.reason)
                    if item.reason in INPUT_ERRORS:
                        ctx.counters.error(item.origin, item.paper_id, item.message)
                    continue
                try:
                    doc = paper_to_document(item, ctx, used_ids)
                except RecursionError:
                    ctx.counters.error(item.origin, item.paper_id, "LaTeX nesting too deep")
                    ctx.counters.removed("too_deep")
                    continue
                if doc is not None:
                    writer.write(doc)


def build_source_stages(source_cfg: Any) -> list[StageSpec]:
    """The ArXiv stage for an ``ArxivSourceConfig`` (tests call this directly)."""
    cfg = source_cfg.model_dump()
    inputs = list(cfg.pop("inputs"))
    cfg.pop("enabled", None)

    def plan() -> list[ShardSpec]:
        return [ShardSpec(index=i, inputs=(p,)) for i, p in enumerate(expand_inputs(inputs))]

    return [
        StageSpec(
            name=STAGE,
            config=cfg,
            plan=plan,
            process=process_shard,
            description="arXiv LaTeX: body from the first section, no bibliography, macros inlined",
        )
    ]


def build_stages(cfg: Any) -> list[StageSpec]:
    """Stages of the ArXiv source for a ``PipelineConfig`` (empty when disabled)."""
    source_cfg = cfg.sources.arxiv
    if not source_cfg.enabled:
        return []
    return build_source_stages(source_cfg)
