"""Shard planning and the dedup groups of shards (shared by the hashes, models, filtered stages)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from llamapipe.engine import ShardSpec
from llamapipe.formats.wet.listing import expand_inputs
from llamapipe.text.paragraph_dedup import (
    GroupDuplicates,
    ShardLineHashes,
    ShardLineRefs,
    shard_keep_mask,
)

if TYPE_CHECKING:
    from llamapipe.sources.commoncrawl.stage_configs import WetStageConfig

HASHES_STAGE = "ingest/commoncrawl/hashes"
#: Version of the hashes stage's files and of the dedup rule, in the stage configs: a run dir
#: written by an older llamapipe (line counts instead of document counts, per-line hashes
#: in `lines/*.npy`) is rebuilt instead of being read with the wrong meaning.
DEDUP_FORMAT = "ccnet-two-pass-v2"


def cache_path(config: WetStageConfig) -> Path | None:
    return Path(config.cache_dir) if config.cache_dir else None


def wet_inputs(config: WetStageConfig) -> list[str]:
    return expand_inputs(list(config.inputs), cache_dir=cache_path(config), retries=config.retries)


def wet_plan(config: WetStageConfig) -> list[ShardSpec]:
    """One shard per WET input; each knows the members of its dedup group."""
    inputs = wet_inputs(config)
    size = config.group_size
    shards = []
    for i, ref in enumerate(inputs):
        group = i // size
        members = list(range(group * size, min((group + 1) * size, len(inputs))))
        shards.append(ShardSpec(index=i, inputs=(ref,), params={"group": members}))
    return shards


def hash_paths(hashes_dir: Path, index: int) -> tuple[Path, Path]:
    """A shard's distinct line hashes (uint64, first appearance order) and, per hash, how many
    of its documents hold it (uint8)."""
    return hashes_dir / "hashes" / f"{index:05d}.npy", hashes_dir / "counts" / f"{index:05d}.npy"


def line_refs_path(hashes_dir: Path, index: int) -> Path:
    """The shard's `ShardLineRefs` (per line: its hash index, in-document repeat): the filter
    pass reuses them instead of normalizing and hashing every line a second time."""
    return hashes_dir / "lines" / f"{index:05d}.npz"


def shard_keep(hashes_dir: Path, group: GroupDuplicates, index: int) -> np.ndarray:
    """Keep flag of every line of shard `index` (reading order) under the group's dedup."""
    shard = ShardLineHashes.load(*hash_paths(hashes_dir, index), mmap=True)
    refs = ShardLineRefs.load(line_refs_path(hashes_dir, index))
    return shard_keep_mask(group, shard, refs)


_group_cache: dict[tuple[str, tuple[int, ...]], GroupDuplicates] = {}


def load_group(hashes_dir: Path, members: list[int]) -> GroupDuplicates:
    """The group's duplicate set, cached per process (consecutive shards share a group)."""
    key = (str(hashes_dir), tuple(members))
    cached = _group_cache.get(key)
    if cached is not None:
        return cached
    _group_cache.clear()  # keep at most one group in memory
    shards = [ShardLineHashes.load(*hash_paths(hashes_dir, i), mmap=True) for i in members]
    group = GroupDuplicates.from_shards(shards)
    _group_cache[key] = group
    return group
