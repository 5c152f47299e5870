"""The GitHub source: code files -> license/extension/quality filters -> global exact dedup.

Three stages, so that dedup is exact across ALL inputs and every step resumes through the engine:

1. ``ingest/github/candidates`` (one shard per input): read, filter, strip headers; write the
   surviving files as documents plus ``keys/<shard>.npy``, the 64-bit content hash of each row.
2. ``ingest/github/dedup`` (one shard per hash bucket): read the keys of every candidate shard
   that fall in its bucket and list every occurrence after the first, in (shard, row) order.
   Memory per shard ~ (number of files) / buckets * 16 bytes.
3. ``ingest/github`` (one shard per candidate shard): copy the candidates minus the listed rows.

The dedup key is the hash of the file as read (RedPajama's rule: raw content, not the stripped
text), so two copies of a file collapse whatever header stripping does to them.

The keep-the-first-occurrence dedup is generic (llamapipe.sources.dedup), shared with the
C4-from-WET three-sentence-span dedup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.github import SourceFile, iter_source_files
from llamapipe.formats.inputs import expand_inputs
from llamapipe.sources.dedup import first_occurrence_stage, load_dropped_positions, write_keys
from llamapipe.text.code_filters import (
    CodeQualityThresholds,
    code_stats,
    is_permissive_license,
    language_of,
    looks_binary,
    quality_reason,
    strip_license_header,
    vendored_or_generated,
)
from llamapipe.text.dedup_keys import hash64

STAGE = "ingest/github"
CANDIDATES_STAGE = "ingest/github/candidates"
DEDUP_STAGE = "ingest/github/dedup"
SOURCE = "github"

# ---------------------------------------------------------------------------------------------
# File rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRules:
    """The per-file rules of the candidates stage, built from the stage config."""

    licenses: frozenset[str]
    filter_extensions: bool
    drop_vendored: bool
    filter_quality: bool
    thresholds: CodeQualityThresholds
    strip_headers: bool

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> CodeRules:
        return cls(
            licenses=frozenset(cfg["licenses"]),
            filter_extensions=cfg["filter_extensions"],
            drop_vendored=cfg["drop_vendored"],
            filter_quality=cfg["filter_quality"],
            thresholds=CodeQualityThresholds(
                max_line_length=cfg["max_line_length"],
                max_mean_line_length=cfg["max_mean_line_length"],
                min_alnum_fraction=cfg["min_alnum_fraction"],
                min_alpha_per_token=cfg["min_alpha_per_token"],
            ),
            strip_headers=cfg["strip_headers"],
        )

    def apply(self, f: SourceFile) -> tuple[Document | None, str | None]:
        """(document, None) for a kept file, (None, removal reason) for a dropped one."""
        if f.skip is not None or f.content is None:
            return None, f.skip or "binary"
        if not is_permissive_license(f.license, self.licenses):
            return None, "license"
        if looks_binary(f.content):
            return None, "binary"
        if not f.content.strip():
            return None, "empty"
        # Before the extension rule, so that a lock or vendored file is counted as such.
        if self.drop_vendored and (reason := vendored_or_generated(f.path, f.content)):
            return None, reason
        language = language_of(f.path)
        if self.filter_extensions and language is None:
            return None, "extension"
        stats = code_stats(f.content)
        if self.filter_quality and (reason := quality_reason(stats, self.thresholds)):
            return None, reason
        text, stripped = f.content, False
        if self.strip_headers:
            text, stripped = strip_license_header(f.content, language)
            if not text.strip():
                return None, "only_header"
        key = hash64(f.content.encode("utf-8"))
        meta = {
            "repo": f.repo,
            "path": f.path,
            "license": f.license,
            "language": language,
            "content_hash": f"{key:016x}",
            "header_stripped": stripped,
            **stats.as_meta(),
            **f.extra,
        }
        doc = Document(
            id=f"{SOURCE}/{f.repo}/{f.path}@{key:016x}", text=text, source=SOURCE, meta=meta
        )
        return doc, None


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


def process_candidates(ctx: ShardContext) -> None:
    cfg = ctx.config
    rules = CodeRules.from_config(cfg)
    keys: list[int] = []
    with ctx.document_writer() as writer:
        for path in ctx.shard.inputs:
            for f in iter_source_files(path, cfg["max_file_bytes"], on_error=ctx.counters.error):
                ctx.counters.add("docs_in")
                if f.content is not None:
                    ctx.counters.add("bytes_in", len(f.content.encode("utf-8")))
                doc, reason = rules.apply(f)
                if doc is None:
                    ctx.counters.removed(reason or "unknown")
                    continue
                ctx.counters.add("headers_stripped", int(doc.meta["header_stripped"]))
                keys.append(int(doc.meta["content_hash"], 16))
                writer.write(doc)
    write_keys(ctx, keys)


def process_final(ctx: ShardContext) -> None:
    index = int(ctx.shard.params["candidate"])
    candidates = ctx.upstream_dir(ctx.config["candidates_stage"])
    dropped = load_dropped_positions(ctx.upstream_dir(ctx.config["dedup_stage"]), index)
    drop_set = set(dropped.tolist())
    with ctx.document_writer() as writer:
        shard_path = candidates / "shards" / f"{index:05d}.parquet"
        for position, doc in enumerate(read_documents(shard_path)):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            if position in drop_set:
                ctx.counters.removed("duplicate")
                continue
            writer.write(doc)


def build_source_stages(source_cfg: Any) -> list[StageSpec]:
    """The three GitHub stages for a ``GitHubSourceConfig`` (tests call this directly)."""
    cfg = source_cfg.model_dump()
    inputs = list(cfg.pop("inputs"))
    cfg.pop("enabled", None)
    buckets = cfg["dedup_buckets"]

    def plan_inputs() -> list[ShardSpec]:
        return [ShardSpec(index=i, inputs=(p,)) for i, p in enumerate(expand_inputs(inputs))]

    def plan_final() -> list[ShardSpec]:
        return [
            ShardSpec(index=i, params={"candidate": i}) for i, _ in enumerate(expand_inputs(inputs))
        ]

    candidates = StageSpec(
        name=CANDIDATES_STAGE,
        config=cfg,
        plan=plan_inputs,
        process=process_candidates,
        description="GitHub files filtered by license, extension, quality; headers stripped",
    )
    dedup = first_occurrence_stage(
        DEDUP_STAGE, CANDIDATES_STAGE, buckets, "exact content dedup across all GitHub inputs"
    )
    final = StageSpec(
        name=STAGE,
        config={"candidates_stage": CANDIDATES_STAGE, "dedup_stage": DEDUP_STAGE},
        plan=plan_final,
        process=process_final,
        upstream=[CANDIDATES_STAGE, DEDUP_STAGE],
        description="GitHub documents, one copy of each file",
    )
    return [candidates, dedup, final]


def build_stages(cfg: Any) -> list[StageSpec]:
    """Stages of the GitHub source for a ``PipelineConfig`` (empty when disabled)."""
    source_cfg = cfg.sources.github
    if not source_cfg.enabled:
        return []
    return build_source_stages(source_cfg)
