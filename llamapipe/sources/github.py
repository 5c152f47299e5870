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

The first-occurrence helpers (``write_keys``, ``process_first_occurrence_bucket``,
``load_dropped_positions``) are generic over "a uint64 key per position" and are also used by
the C4-from-WET three-sentence-span dedup.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.github import SourceFile, iter_source_files
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

STAGE = "ingest/github"
CANDIDATES_STAGE = "ingest/github/candidates"
DEDUP_STAGE = "ingest/github/dedup"
SOURCE = "github"

# ---------------------------------------------------------------------------------------------
# Generic global "keep the first occurrence" dedup over uint64 keys
# ---------------------------------------------------------------------------------------------

KEYS_DIR = "keys"
DROPS_DIR = "drops"


def hash64(data: bytes) -> int:
    """A 64-bit content key: BLAKE2b-64 (little-endian); collisions ~ n^2 / 2^65."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def write_keys(ctx: ShardContext, keys: Iterable[int]) -> None:
    """Save this shard's keys, one per position, in the order that "first" refers to."""
    arr = np.fromiter(keys, dtype=np.uint64)
    np.save(ctx.output(f"{KEYS_DIR}/{ctx.shard.name}.npy"), arr)


def first_occurrence_plan(buckets: int) -> list[ShardSpec]:
    return [ShardSpec(index=b, params={"bucket": b}) for b in range(buckets)]


def process_first_occurrence_bucket(ctx: ShardContext) -> None:
    """One bucket of the dedup: list (shard, position) of every repeat of a key in this bucket.

    Reads ``<keys_stage>/keys/*.npy`` in shard order; config: ``keys_stage``, ``buckets``.
    """
    bucket = int(ctx.shard.params["bucket"])
    buckets = np.uint64(ctx.config["buckets"])
    keys_dir = ctx.upstream_dir(ctx.config["keys_stage"]) / KEYS_DIR
    all_keys, all_shards, all_pos = [], [], []
    for path in sorted(keys_dir.glob("*.npy")):
        keys = np.load(path)
        mask = (keys % buckets) == np.uint64(bucket)
        positions = np.nonzero(mask)[0].astype(np.int64)
        all_keys.append(keys[mask])
        all_pos.append(positions)
        all_shards.append(np.full(len(positions), int(path.stem), dtype=np.int64))
        ctx.counters.add("keys_in", int(len(positions)))
    keys = np.concatenate(all_keys) if all_keys else np.zeros(0, np.uint64)
    shards = np.concatenate(all_shards) if all_shards else np.zeros(0, np.int64)
    positions = np.concatenate(all_pos) if all_pos else np.zeros(0, np.int64)
    # np.unique returns the index of each key's first occurrence in the concatenation, which
    # is (shard, position) order because shards were concatenated in order.
    _, first = np.unique(keys, return_index=True)
    drop = np.ones(len(keys), dtype=bool)
    drop[first] = False
    ctx.counters.add("repeats", int(drop.sum()))
    np.savez(
        ctx.output(f"{DROPS_DIR}/{ctx.shard.name}.npz"),
        shard=shards[drop],
        position=positions[drop],
    )


def load_dropped_positions(dedup_dir: Path, shard_index: int) -> np.ndarray:
    """Sorted positions of ``shard_index``'s keys that repeat an earlier occurrence."""
    found = []
    for path in sorted((dedup_dir / DROPS_DIR).glob("*.npz")):
        with np.load(path) as data:
            found.append(data["position"][data["shard"] == shard_index])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


def first_occurrence_stage(name: str, keys_stage: str, buckets: int, description: str) -> StageSpec:
    """The bucketed dedup stage over the keys written by ``keys_stage``."""
    return StageSpec(
        name=name,
        config={"keys_stage": keys_stage, "buckets": buckets},
        plan=lambda: first_occurrence_plan(buckets),
        process=process_first_occurrence_bucket,
        upstream=[keys_stage],
        description=description,
    )


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


def expand_inputs(patterns: list[str]) -> list[str]:
    """Globs -> sorted paths, each input once, in a stable order (shard i = input i)."""
    seen: dict[str, None] = {}
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for m in matches:
            seen.setdefault(m, None)
    return list(seen)


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
