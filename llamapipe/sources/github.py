"""The GitHub source: code files -> license/extension/vendoring rules, quality scores ->
global exact dedup and the quality cuts.

Three stages, so that dedup is exact across ALL inputs and every step resumes through the engine:

1. ``ingest/github/candidates`` (one shard per input): read, apply the per-file rules, compute
   the quality statistics (stored in meta: the attributes), strip headers; write the files as
   documents plus ``keys/<shard>.npy``, the 64-bit content hash of each row with text left.
2. ``ingest/github/dedup`` (one shard per hash bucket): read the keys of every candidate shard
   that fall in its bucket and list every occurrence after the first, in (shard, row) order.
   Memory per shard ~ (number of files) / buckets * 16 bytes.
3. ``ingest/github`` (one shard per candidate shard): the decision step. The quality cuts
   (``filter_quality``, ``max_line_length``, ``max_mean_line_length``, ``min_alnum_fraction``,
   ``min_alpha_per_token``: the decision keys, this stage's whole config) on the stored scores,
   then the files that were only a header, then the listed repeats. Editing a cut re-runs this
   stage alone.

The dedup key is the hash of the file as read (RedPajama's rule: raw content, not the stripped
text), so two copies of a file collapse whatever header stripping does to them. The cuts can
follow the dedup because the scores too are of the file as read: every copy of a file has the
first copy's scores, so a cut keeps all of them or none, and "first" is what it was when the
cuts ran before the dedup.

The keep-the-first-occurrence dedup is generic (llamapipe.sources.dedup), shared with the
C4-from-WET three-sentence-span dedup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.filters import Filter, FilterRunner
from llamapipe.filters.code import (
    CodeStats,
    KnownExtension,
    NotBinary,
    PermissiveLicense,
    StripHeader,
    VendoredOrGenerated,
    quality_filters,
)
from llamapipe.filters.text import EmptyText
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.github import SourceFile, iter_source_files
from llamapipe.formats.inputs import expand_inputs
from llamapipe.sources.dedup import first_occurrence_stage, load_dropped_positions, write_keys
from llamapipe.text.code_filters import language_of
from llamapipe.text.dedup_keys import hash64

STAGE = "ingest/github"
CANDIDATES_STAGE = "ingest/github/candidates"
DEDUP_STAGE = "ingest/github/dedup"
SOURCE = "github"

# ---------------------------------------------------------------------------------------------
# Stage configs and the filters they list
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitHubCandidatesConfig(StageConfig):
    """What ``ingest/github/candidates`` reads: the rules that need the file itself."""

    licenses: tuple[str, ...]
    filter_extensions: bool
    drop_vendored: bool
    strip_headers: bool
    max_file_bytes: int
    write_removed: bool = added_key()


@dataclass(frozen=True)
class GitHubDecisionConfig(StageConfig):
    """What ``ingest/github`` reads: the decision keys (the quality cuts on the scores the
    candidates stage stored); editing one re-runs only this stage."""

    candidates_stage: str
    dedup_stage: str
    filter_quality: bool
    max_line_length: int
    max_mean_line_length: float
    min_alnum_fraction: float
    min_alpha_per_token: float
    write_removed: bool = added_key()


def candidate_filters(cfg: GitHubCandidatesConfig) -> list[Filter]:
    """The per-file rules, in order (add a rule here: README "Add a filter"). The last two
    never remove: they store the quality scores and strip the license header."""
    filters: list[Filter] = [
        PermissiveLicense(frozenset(cfg.licenses)),
        NotBinary(),
        EmptyText("empty"),
    ]
    # Before the extension rule, so that a lock or vendored file is counted as such.
    if cfg.drop_vendored:
        filters.append(VendoredOrGenerated())
    if cfg.filter_extensions:
        filters.append(KnownExtension())
    return [*filters, CodeStats(), StripHeader(cfg.strip_headers)]


def decision_filters(cfg: GitHubDecisionConfig) -> list[Filter]:
    """The cheap last step: quality cuts on the stored scores, then files that were only a
    license header (after the quality rules, as they always were)."""
    filters: list[Filter] = []
    if cfg.filter_quality:
        filters.extend(
            quality_filters(
                cfg.max_line_length,
                cfg.max_mean_line_length,
                cfg.min_alnum_fraction,
                cfg.min_alpha_per_token,
            )
        )
    return [*filters, EmptyText("only_header")]


def file_document(f: SourceFile) -> Document:
    """A file as a document before any rule: its content as read, keyed by its hash."""
    content = f.content or ""
    key = hash64(content.encode("utf-8"))
    meta = {
        "repo": f.repo,
        "path": f.path,
        "license": f.license,
        "language": language_of(f.path),
        "content_hash": f"{key:016x}",
        **f.extra,
    }
    return Document(
        id=f"{SOURCE}/{f.repo}/{f.path}@{key:016x}", text=content, source=SOURCE, meta=meta
    )


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


def process_candidates(ctx: ShardContext) -> None:
    """Every file passing the per-file rules, scored; a key for each that has text left (a
    file that was only a header is decided, and counted, after the quality cuts)."""
    cfg: GitHubCandidatesConfig = ctx.config
    keys: list[int] = []
    positions: list[int] = []
    row = 0  # the next row of this shard's documents
    with ctx.document_writer() as writer, ctx.filter_runner(candidate_filters(cfg)) as runner:
        for path in ctx.shard.inputs:
            for f in iter_source_files(path, cfg.max_file_bytes, on_error=ctx.counters.error):
                ctx.counters.add("docs_in")
                if f.content is not None:
                    ctx.counters.add("bytes_in", len(f.content.encode("utf-8")))
                doc = file_document(f)
                if f.skip is not None or f.content is None:  # the reader's: binary, too large
                    runner.reject(doc, "reader", f.skip or "binary")
                    continue
                if not runner.keep(doc):
                    continue
                if doc.text.strip():
                    keys.append(int(doc.meta["content_hash"], 16))
                    positions.append(row)
                writer.write(doc)
                row += 1
    write_keys(ctx, keys, positions)


def process_final(ctx: ShardContext) -> None:
    """The decision filters, then one copy of each file (the dedup ran over every candidate:
    a copy has the same content, so the same scores, as the first one)."""
    cfg: GitHubDecisionConfig = ctx.config
    index = int(ctx.shard.params["candidate"])
    candidates = ctx.upstream_dir(cfg.candidates_stage)
    dropped = load_dropped_positions(ctx.upstream_dir(cfg.dedup_stage), index)
    drop_set = set(dropped.tolist())
    with ctx.document_writer() as writer, ctx.filter_runner(decision_filters(cfg)) as runner:
        shard_path = candidates / "shards" / f"{index:05d}.parquet"
        for position, doc in enumerate(read_documents(shard_path)):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            if _decide(ctx, runner, doc, position in drop_set):
                writer.write(doc)


def _decide(ctx: ShardContext, runner: FilterRunner, doc: Document, repeat: bool) -> bool:
    if not runner.keep(doc):
        return False
    ctx.counters.add("headers_stripped", int(doc.meta["header_stripped"]))
    if repeat:
        runner.reject(doc, "dedup", "duplicate")
        return False
    return True


def build_source_stages(source_cfg: Any, write_removed: bool | None = None) -> list[StageSpec]:
    """The three GitHub stages for a ``GitHubSourceConfig`` (tests call this directly);
    write_removed None: the section's own."""
    inputs = list(source_cfg.inputs)
    if write_removed is None:
        write_removed = bool(source_cfg.write_removed)
    buckets = source_cfg.dedup_buckets

    def plan_inputs() -> list[ShardSpec]:
        return [ShardSpec(index=i, inputs=(p,)) for i, p in enumerate(expand_inputs(inputs))]

    def plan_final() -> list[ShardSpec]:
        return [
            ShardSpec(index=i, params={"candidate": i}) for i, _ in enumerate(expand_inputs(inputs))
        ]

    candidates = StageSpec(
        name=CANDIDATES_STAGE,
        config=GitHubCandidatesConfig.from_section(source_cfg, write_removed=write_removed),
        plan=plan_inputs,
        process=process_candidates,
        description="GitHub files by license, extension, vendoring; scored; headers stripped",
    )
    dedup = first_occurrence_stage(
        DEDUP_STAGE, CANDIDATES_STAGE, buckets, "exact content dedup across all GitHub inputs"
    )
    final = StageSpec(
        name=STAGE,
        config=GitHubDecisionConfig.from_section(
            source_cfg,
            candidates_stage=CANDIDATES_STAGE,
            dedup_stage=DEDUP_STAGE,
            write_removed=write_removed,
        ),
        plan=plan_final,
        process=process_final,
        upstream=[CANDIDATES_STAGE, DEDUP_STAGE],
        description="GitHub documents: quality cuts, one copy of each file",
    )
    return [candidates, dedup, final]


def build_stages(cfg: Any) -> list[StageSpec]:
    """Stages of the GitHub source for a ``PipelineConfig`` (empty when disabled)."""
    source_cfg = cfg.sources.github
    if not source_cfg.enabled:
        return []
    return build_source_stages(source_cfg, write_removed_for(cfg, "github"))
