"""Global "keep the first occurrence" dedup over one uint64 key per document (or per span).

Dedup across ALL inputs cannot happen inside one shard, so it takes two engine stages around
the source's own: the source writes ``keys/<shard>.npy`` (a key per position, in the order that
"first" refers to); a bucketed stage lists every later repeat of a key; the source's final
stage drops those positions. Every step resumes through the engine like any other shard.
Memory per bucket shard ~ 16 bytes x keys / buckets. Used by GitHub (file content) and
C4-from-WET (three-sentence spans).

A position may have several keys (``write_keys(..., positions=...)``): a document is keyed by
its normalised text and by its URL, and it is a repeat when any of its keys is.
``with_document_dedup`` (sources/document_dedup.py) wraps any source's stages with these steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llamapipe.engine import ShardContext, ShardSpec, StageConfig, StageSpec
from llamapipe.text.dedup_keys import first_occurrences

KEYS_DIR = "keys"
#: Optional ``<shard>.npy`` per keys file: the position each key belongs to (default: its index).
POSITIONS_DIR = "key_positions"
DROPS_DIR = "drops"


@dataclass(frozen=True)
class FirstOccurrenceConfig(StageConfig):
    """What a bucketed dedup stage reads: whose keys, in how many buckets."""

    keys_stage: str
    buckets: int


def write_keys(
    ctx: ShardContext, keys: Iterable[int], positions: Iterable[int] | None = None
) -> None:
    """Save this shard's keys in the order that "first" refers to: one per position, or, with
    ``positions`` (non-decreasing, aligned with ``keys``), any number per position."""
    arr = np.fromiter(keys, dtype=np.uint64)
    np.save(ctx.output(f"{KEYS_DIR}/{ctx.shard.name}.npy"), arr)
    if positions is not None:
        pos = np.fromiter(positions, dtype=np.int64)
        if pos.size != arr.size:
            raise ValueError(f"{pos.size} key positions for {arr.size} keys")
        np.save(ctx.output(f"{POSITIONS_DIR}/{ctx.shard.name}.npy"), pos)


def first_occurrence_plan(buckets: int) -> list[ShardSpec]:
    return [ShardSpec(index=b, params={"bucket": b}) for b in range(buckets)]


def process_first_occurrence_bucket(ctx: ShardContext) -> None:
    """One bucket of the dedup: list (shard, position) of every repeat of a key in this bucket.

    Reads ``<keys_stage>/keys/*.npy`` in shard order; config: ``keys_stage``, ``buckets``.
    """
    bucket = int(ctx.shard.params["bucket"])
    buckets = np.uint64(ctx.config.buckets)
    keys_dir = ctx.upstream_dir(ctx.config.keys_stage) / KEYS_DIR
    all_keys, all_shards, all_pos = [], [], []
    for path in sorted(keys_dir.glob("*.npy")):
        keys = np.load(path)
        mask = (keys % buckets) == np.uint64(bucket)
        positions = np.nonzero(mask)[0].astype(np.int64)
        position_file = path.parent.parent / POSITIONS_DIR / path.name
        if position_file.exists():
            positions = np.load(position_file)[positions]
        all_keys.append(keys[mask])
        all_pos.append(positions)
        all_shards.append(np.full(len(positions), int(path.stem), dtype=np.int64))
        ctx.counters.add("keys_in", int(len(positions)))
    keys = np.concatenate(all_keys) if all_keys else np.zeros(0, np.uint64)
    shards = np.concatenate(all_shards) if all_shards else np.zeros(0, np.int64)
    positions = np.concatenate(all_pos) if all_pos else np.zeros(0, np.int64)
    # Shards were concatenated in order, so "first" in the concatenation is (shard, position).
    drop = ~first_occurrences(keys)
    # A position listed twice (two of its keys repeat) is one dropped position.
    pairs = np.unique(np.stack([shards[drop], positions[drop]]), axis=1)
    ctx.counters.add("repeats", int(pairs.shape[1]))
    np.savez(ctx.output(f"{DROPS_DIR}/{ctx.shard.name}.npz"), shard=pairs[0], position=pairs[1])


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
        config=FirstOccurrenceConfig(keys_stage, buckets),
        plan=lambda: first_occurrence_plan(buckets),
        process=process_first_occurrence_bucket,
        upstream=[keys_stage],
        description=description,
    )
