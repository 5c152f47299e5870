"""The ArXiv source: LaTeX source archives -> main file -> cleaned body -> documents.

One stage, ``ingest/arxiv``, one shard per input (a bulk tar of thousands of papers, a single
paper, or a directory). Papers are independent, so there is no cross-shard step; the paper's
own cleaning is ``llamapipe.text.latex.clean_paper``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.filters import Filter
from llamapipe.filters.text import MinChars
from llamapipe.formats.arxiv import ArchiveLimits, Paper, PaperFailure, decode_tex, iter_papers
from llamapipe.formats.documents import Document
from llamapipe.formats.inputs import expand_inputs
from llamapipe.text.latex import clean_paper

STAGE = "ingest/arxiv"
#: Failure reasons that are damaged inputs (counted as errors naming the file), not papers
#: without usable LaTeX: a cut-off archive, a 0-byte file, a ``.gz`` that is not gzip.
INPUT_ERRORS = frozenset({"corrupt_archive", "empty_file", "not_gzip"})
SOURCE = "arxiv"


@dataclass(frozen=True)
class ArxivStageConfig(StageConfig):
    """What ``ingest/arxiv`` reads: the archive bounds and the length rule."""

    max_member_bytes: int
    max_total_bytes: int
    max_members: int
    min_chars: int
    write_removed: bool = added_key()

    def limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_member_bytes=self.max_member_bytes,
            max_total_bytes=self.max_total_bytes,
            max_members=self.max_members,
        )


def document_filters(cfg: ArxivStageConfig) -> list[Filter]:
    """The rules a cleaned paper passes, in order (add a rule here: README "Add a filter")."""
    return [MinChars(cfg.min_chars)]


def paper_to_document(
    paper: Paper, ctx: ShardContext, used_ids: set[str]
) -> tuple[Document, str | None]:
    """Decode and clean one paper: its document, and the reason when it has no usable text
    (the document then holds what is known of the paper, for the removed writer)."""
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
    stub = _paper_stub(paper.paper_id, paper.origin)
    if not texts:
        return stub, "undecodable" if paper.files else "no_latex"
    cleaned = clean_paper(texts, paper.members)
    if cleaned.text is None:
        return stub, cleaned.reason or "unknown"
    doc_id = f"{SOURCE}/{paper.paper_id}"
    n = 1
    while doc_id in used_ids:  # the same id twice in one input (two versions): keep both
        n += 1
        doc_id = f"{SOURCE}/{paper.paper_id}#{n}"
    meta = {
        "paper_id": paper.paper_id,
        "origin": paper.origin,
        "main_file": cleaned.main,
        "tex_files": len(texts),
        "macros": cleaned.macros,
    }
    return Document(id=doc_id, text=cleaned.text, source=SOURCE, meta=meta), None


def _paper_stub(paper_id: str, origin: str) -> Document:
    """A paper that yields no text, as a document for the removed writer."""
    return Document(f"{SOURCE}/{paper_id}", "", SOURCE, {"paper_id": paper_id, "origin": origin})


def process_shard(ctx: ShardContext) -> None:
    cfg: ArxivStageConfig = ctx.config
    limits = cfg.limits()
    used_ids: set[str] = set()
    with ctx.document_writer() as writer, ctx.filter_runner(document_filters(cfg)) as runner:
        for path in ctx.shard.inputs:
            for item in iter_papers(path, limits):
                ctx.counters.add("docs_in")
                if isinstance(item, PaperFailure):
                    runner.reject(_paper_stub(item.paper_id, item.origin), "archive", item.reason)
                    if item.reason in INPUT_ERRORS:
                        ctx.counters.error(item.origin, item.paper_id, item.message)
                    continue
                try:
                    doc, reason = paper_to_document(item, ctx, used_ids)
                except RecursionError:
                    ctx.counters.error(item.origin, item.paper_id, "LaTeX nesting too deep")
                    runner.reject(_paper_stub(item.paper_id, item.origin), "latex", "too_deep")
                    continue
                if reason is not None:
                    runner.reject(doc, "latex", reason)
                elif runner.keep(doc):
                    used_ids.add(doc.id)
                    writer.write(doc)


def build_source_stages(source_cfg: Any, write_removed: bool | None = None) -> list[StageSpec]:
    """The ArXiv stage for an ``ArxivSourceConfig`` (tests call this directly); write_removed
    None: the section's own."""
    inputs = list(source_cfg.inputs)
    config = ArxivStageConfig.from_section(
        source_cfg,
        write_removed=bool(source_cfg.write_removed if write_removed is None else write_removed),
    )

    def plan() -> list[ShardSpec]:
        return [ShardSpec(index=i, inputs=(p,)) for i, p in enumerate(expand_inputs(inputs))]

    return [
        StageSpec(
            name=STAGE,
            config=config,
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
    return build_source_stages(source_cfg, write_removed_for(cfg, "arxiv"))
