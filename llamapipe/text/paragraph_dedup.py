"""CCNet paragraph (line) dedup over a group of shards, with bounded memory.

Pass 1 (`ShardLineHashes.from_documents`): per shard, the sorted unique 64-bit line hashes and
how often each occurs in the shard. Pass 2 (`GroupDuplicates.from_shards`): the hashes seen two
or more times anywhere in the group (inside one shard, or in two shards). Every line whose hash is
in that set is removed from every document, the first occurrence too, which also removes lines
repeated inside one document.

Why sorted numpy arrays rather than a Python set: a set of ints costs ~70-100 bytes per line,
a sorted uint64 array 8. Building the group set concatenates the shards' unique hashes
(8 B/line), sorts in place and compares neighbours (1 B/line mask): about 9 bytes per line at
peak, under CCNet's ~12 B/line budget. Membership is a vectorised `np.searchsorted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llamapipe.text.ccnet_normalize import hash_lines


@dataclass(slots=True)
class ShardLineHashes:
    """Sorted unique line hashes of one shard and their occurrence counts within it."""

    hashes: np.ndarray  # uint64, sorted, unique
    counts: np.ndarray  # uint32, same length

    @classmethod
    def from_hash_arrays(cls, arrays: Iterable[np.ndarray]) -> ShardLineHashes:
        parts = [a for a in arrays if a.size]
        if not parts:
            return cls(np.empty(0, np.uint64), np.empty(0, np.uint32))
        hashes, counts = np.unique(np.concatenate(parts), return_counts=True)
        return cls(hashes.astype(np.uint64, copy=False), counts.astype(np.uint32))

    @classmethod
    def from_documents(cls, documents: Iterable[Sequence[str]]) -> ShardLineHashes:
        """Hashes of the lines of each document (a document is a sequence of lines)."""
        return cls.from_hash_arrays(hash_lines(lines) for lines in documents)

    def save(self, hashes_path: Path, counts_path: Path) -> None:
        np.save(hashes_path, self.hashes, allow_pickle=False)
        np.save(counts_path, self.counts, allow_pickle=False)

    @classmethod
    def load(cls, hashes_path: Path, counts_path: Path, mmap: bool = False) -> ShardLineHashes:
        """Read a shard's arrays; with `mmap` they stay in the page cache, off the heap, so a
        group of 50 shards is merged without holding 12 B/line of shard arrays in memory."""
        mode = "r" if mmap else None
        hashes = np.load(hashes_path, allow_pickle=False, mmap_mode=mode)
        counts = np.load(counts_path, allow_pickle=False, mmap_mode=mode)
        if hashes.dtype != np.uint64 or hashes.shape != counts.shape:
            raise ValueError(f"{hashes_path}: not a uint64 hash array matching {counts_path}")
        return cls(hashes, counts)


class GroupDuplicates:
    """The set of line hashes occurring at least twice in a group of shards."""

    def __init__(self, duplicates: np.ndarray, total_unique_lines: int = 0) -> None:
        self.duplicates = np.ascontiguousarray(duplicates, dtype=np.uint64)
        self.total_unique_lines = total_unique_lines

    @classmethod
    def from_shards(cls, shards: Iterable[ShardLineHashes]) -> GroupDuplicates:
        """Merge shards: a hash is a duplicate if a shard counts it >= 2 or two shards hold it.

        Pass memory-mapped shards (`ShardLineHashes.load(..., mmap=True)`) to keep the heap at
        the merge buffer (8 B/line) plus the neighbour mask (1 B/line)."""
        shard_list = list(shards)
        total = sum(int(s.hashes.size) for s in shard_list)
        merged = np.empty(total, dtype=np.uint64)
        within: list[np.ndarray] = []
        offset = 0
        for shard in shard_list:
            n = shard.hashes.size
            merged[offset : offset + n] = shard.hashes
            offset += n
            within.append(np.asarray(shard.hashes[shard.counts >= 2]))
        merged.sort(kind="quicksort")  # in place: no second 8 B/line buffer
        if total > 1:
            across = merged[1:][merged[1:] == merged[:-1]]
        else:
            across = np.empty(0, np.uint64)
        del merged
        duplicates = np.unique(np.concatenate([across, *within]))
        return cls(duplicates, total_unique_lines=total)

    @property
    def nbytes(self) -> int:
        return int(self.duplicates.nbytes)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `hashes` are duplicates in the group."""
        dup = self.duplicates
        if dup.size == 0 or hashes.size == 0:
            return np.zeros(hashes.shape, dtype=bool)
        pos = np.searchsorted(dup, hashes)
        pos[pos == dup.size] = 0
        return dup[pos] == hashes


@dataclass(slots=True)
class DedupResult:
    """Lines kept from one document, with CCNet's bookkeeping."""

    kept_lines: list[str]
    line_ids: list[int]
    original_nlines: int
    original_length: int

    @property
    def text(self) -> str:
        return "\n".join(self.kept_lines)


def dedup_document(
    lines: Sequence[str], group: GroupDuplicates, hashes: np.ndarray | None = None
) -> DedupResult:
    """Drop the document's lines that are duplicated in the group, and in-document repeats.

    With group counts built from every shard, a line repeated inside a document already counts
    twice and goes entirely; the in-document check below also covers documents whose shard was
    not part of the hashed group (then the first occurrence is kept).
    """
    if hashes is None:
        hashes = hash_lines(lines)
    elif hashes.shape != (len(lines),):
        raise ValueError(f"{hashes.shape[0]} hashes for {len(lines)} lines")
    keep = ~group.contains(hashes)
    values = hashes.tolist()
    if len(set(values)) < len(values):
        # In-document repeats: only a hash's first line may stay (np.unique's return_index
        # gives first occurrences). A duplicate hash is dropped on every line, so this and
        # the group mask compose in any order.
        first = np.zeros(len(values), dtype=bool)
        first[np.unique(hashes, return_index=True)[1]] = True
        keep &= first
    ids = np.flatnonzero(keep).tolist()
    return DedupResult(
        kept_lines=[lines[i] for i in ids],
        line_ids=ids,
        original_nlines=len(lines),
        original_length=sum(map(len, lines)) + max(len(lines) - 1, 0),  # len("\n".join(lines))
    )
