"""CCNet paragraph (line) dedup over a group of shards, as cc_net's two-pass line dedup does it.

The rule (RECIPE.md, CommonCrawl): a line hash is a duplicate when it occurs in TWO OR MORE
DOCUMENTS of the group; then every copy goes, in the first document too. A line repeated only
inside one document is not a duplicate: that document keeps its first copy and drops the later
ones. A document with no line left is dropped by the caller.

Pass 1 (`index_shard`), per shard:
* `ShardLineHashes`: the shard's distinct line hashes in order of first appearance (8 B each) and
  how many of the shard's documents hold each (uint8, capped at 255; only ">= 2" matters);
* `ShardLineRefs`: for every line, which of those hashes it has, stored compactly: one bit "first
  line of the shard with this hash" (that line's hash index is implicit: the next new one), a
  uint16/uint32 back-reference for every other line, and one bit "an earlier line of the same
  document has this hash". Pass 2 then never normalizes or hashes a line again.

On disk this is 9 B per distinct line + 2 bits per line + 2-4 B per repeated line: at most
9.25 B per line (all lines distinct) with uint32 references, against cc_net's ~7-9 B per line
(its shard set holds 8 B key + 1 B value per distinct hash, but pass 2 re-hashes every line)
and the 18-19 B per line (8 B hashes in order + 12 B per distinct hash) this replaced.

Pass 2 (`GroupDuplicates.from_shards`): the group's duplicate hashes = those a shard counts in
>= 2 documents, plus those held by two shards (neighbours of the merged, sorted distinct hashes).
`shard_keep_mask` turns them into one keep flag per line of a shard, vectorised: a gather over
the shard's distinct hashes. Memory: the merge buffer (8 B per distinct hash of the group) and
its neighbour mask (1 B).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llamapipe.text.ccnet_normalize import hash_lines
from llamapipe.text.dedup_keys import first_occurrences

#: References fit uint16 while a shard has at most this many distinct lines.
_UINT16_IDS = 1 << 16


@dataclass(slots=True)
class ShardLineHashes:
    """Distinct line hashes of one shard, in order of first appearance, and the number of the
    shard's documents holding each (uint8, capped at 255)."""

    hashes: np.ndarray  # uint64, unique
    counts: np.ndarray  # uint8, same length

    @classmethod
    def from_hash_arrays(cls, arrays: Iterable[np.ndarray]) -> ShardLineHashes:
        """One array of line hashes per document."""
        return index_shard(arrays)[0]

    @classmethod
    def from_documents(cls, documents: Iterable[Sequence[str]]) -> ShardLineHashes:
        """Hashes of the lines of each document (a document is a sequence of lines)."""
        return cls.from_hash_arrays(hash_lines(lines) for lines in documents)

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.counts.nbytes)

    def save(self, hashes_path: Path, counts_path: Path) -> None:
        np.save(hashes_path, self.hashes, allow_pickle=False)
        np.save(counts_path, self.counts, allow_pickle=False)

    @classmethod
    def load(cls, hashes_path: Path, counts_path: Path, mmap: bool = False) -> ShardLineHashes:
        """Read a shard's arrays; with `mmap` they stay in the page cache, off the heap, so a
        group of 50 shards is merged without holding every shard's arrays in memory."""
        mode = "r" if mmap else None
        hashes = np.load(hashes_path, allow_pickle=False, mmap_mode=mode)
        counts = np.load(counts_path, allow_pickle=False, mmap_mode=mode)
        if hashes.dtype != np.uint64 or hashes.shape != counts.shape:
            raise ValueError(f"{hashes_path}: not a uint64 hash array matching {counts_path}")
        if counts.dtype != np.uint8:
            raise ValueError(
                f"{counts_path}: counts are {counts.dtype}, not uint8 document counts "
                "(hashes written by an older llamapipe: rebuild the hashes stage)"
            )
        return cls(hashes, counts)


@dataclass(slots=True)
class ShardLineRefs:
    """Per line of a shard (documents in reading order): its index into the shard's
    `ShardLineHashes.hashes`, and whether an earlier line of its document has the same hash."""

    n_lines: int
    new_bits: np.ndarray  # packed bits: the line is the shard's first with its hash
    refs: np.ndarray  # uint16 / uint32: hash index of each line that is not new, in order
    repeat_bits: np.ndarray  # packed bits: an earlier line of the same document has the hash

    def ids(self) -> np.ndarray:
        """Hash index of every line (uint32)."""
        new = np.unpackbits(self.new_bits, count=self.n_lines).view(bool)
        ids = np.empty(self.n_lines, dtype=np.uint32)
        ids[new] = np.arange(self.n_lines - self.refs.size, dtype=np.uint32)
        ids[~new] = self.refs
        return ids

    def repeats(self) -> np.ndarray:
        return np.unpackbits(self.repeat_bits, count=self.n_lines).view(bool)

    @property
    def nbytes(self) -> int:
        return int(self.new_bits.nbytes + self.refs.nbytes + self.repeat_bits.nbytes)

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
            np.savez(
                fh,
                n_lines=np.array(self.n_lines, dtype=np.int64),
                new_bits=self.new_bits,
                refs=self.refs,
                repeat_bits=self.repeat_bits,
            )

    @classmethod
    def load(cls, path: Path) -> ShardLineRefs:
        with np.load(path, allow_pickle=False) as data:
            refs = cls(int(data["n_lines"]), data["new_bits"], data["refs"], data["repeat_bits"])
        need = (refs.n_lines + 7) // 8
        if refs.new_bits.size != need or refs.repeat_bits.size != need:
            raise ValueError(f"{path}: line bitmaps do not cover {refs.n_lines} lines")
        return refs


def index_shard(arrays: Iterable[np.ndarray]) -> tuple[ShardLineHashes, ShardLineRefs]:
    """Pass 1 of one shard from its documents' line hashes (one array per document).

    One stable sort of all the shard's line hashes gives, per distinct hash, its lines in
    reading order: the first is the hash's first appearance, and a line whose predecessor in
    that run belongs to the same document is a repeat inside that document (documents are
    numbered in reading order, so a run visits each document's lines contiguously)."""
    parts = [np.asarray(a, dtype=np.uint64) for a in arrays]
    sizes = np.fromiter((a.size for a in parts), dtype=np.int64, count=len(parts))
    n = int(sizes.sum())
    if n == 0:
        empty = np.empty(0, np.uint8)
        return (
            ShardLineHashes(np.empty(0, np.uint64), empty),
            ShardLineRefs(0, empty, np.empty(0, np.uint16), empty),
        )
    hashes = np.concatenate(parts)
    documents = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    perm = np.argsort(hashes, kind="stable")
    ranked = hashes[perm]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=starts[1:])
    del ranked
    ranked_docs = documents[perm]
    del documents
    new_in_doc = starts.copy()
    new_in_doc[1:] |= ranked_docs[1:] != ranked_docs[:-1]
    del ranked_docs
    run_starts = np.flatnonzero(starts)
    doc_counts = np.add.reduceat(new_in_doc.astype(np.int64), run_starts)
    first_line = perm[run_starts]  # stable sort: the earliest line of each hash
    is_new = np.zeros(n, dtype=bool)
    is_new[first_line] = True
    # Rank of each (sorted) hash by first appearance, without a second sort: the number of
    # first lines before its own.
    renumber = (np.cumsum(is_new, dtype=np.uint32) - np.uint32(1))[first_line]
    ids = np.empty(n, dtype=np.uint32)
    ids[perm] = renumber[np.cumsum(starts) - 1]
    repeat = np.empty(n, dtype=bool)
    repeat[perm] = ~new_in_doc
    distinct = hashes[is_new]
    counts = np.empty(run_starts.size, dtype=np.uint8)
    counts[renumber] = np.minimum(doc_counts, 255)
    ref_type = np.uint16 if distinct.size <= _UINT16_IDS else np.uint32
    shard = ShardLineHashes(distinct, counts)
    refs = ShardLineRefs(
        n_lines=n,
        new_bits=np.packbits(is_new),
        refs=ids[~is_new].astype(ref_type),
        repeat_bits=np.packbits(repeat),
    )
    return shard, refs


class GroupDuplicates:
    """The line hashes occurring in at least two documents of a group of shards (sorted)."""

    def __init__(self, duplicates: np.ndarray, total_unique_lines: int = 0) -> None:
        self.duplicates = np.ascontiguousarray(duplicates, dtype=np.uint64)
        self.total_unique_lines = total_unique_lines

    @classmethod
    def from_shards(cls, shards: Iterable[ShardLineHashes]) -> GroupDuplicates:
        """Merge shards: a hash is a duplicate if a shard counts it in >= 2 documents or two
        shards hold it (cc_net's `FlatHashSet` merge: contained | value).

        Pass memory-mapped shards (`ShardLineHashes.load(..., mmap=True)`) to keep the heap at
        the merge buffer (8 B per distinct line) plus the neighbour mask (1 B)."""
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


def shard_keep_mask(
    group: GroupDuplicates, shard: ShardLineHashes, refs: ShardLineRefs
) -> np.ndarray:
    """Keep flag of every line of a shard (reading order): its hash is not a group duplicate
    and no earlier line of its document has it. One lookup per distinct hash, then a gather."""
    duplicate = group.contains(np.asarray(shard.hashes))
    keep = ~duplicate[refs.ids()]
    keep &= ~refs.repeats()
    return keep


@dataclass(slots=True)
class DedupResult:
    """Lines kept from one document, with CCNet's bookkeeping."""

    kept_lines: list[str]
    line_ids: list[int]
    original_nlines: int
    #: Characters of the document's lines joined by newlines (CCNet's `original_length` is the
    #: record's Content-Length instead: `ScoredPage` takes it from the record).
    original_length: int

    @property
    def text(self) -> str:
        return "\n".join(self.kept_lines)


def first_in_document(hashes: np.ndarray) -> np.ndarray:
    """Mask of the lines whose hash no earlier line of the document has."""
    return first_occurrences(hashes)


def dedup_document(
    lines: Sequence[str],
    group: GroupDuplicates,
    hashes: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> DedupResult:
    """Drop the document's lines that are duplicated in the group, and in-document repeats
    (the first copy of a line repeated only inside this document stays).

    `keep`: the page's slice of `shard_keep_mask` when known (the filter pass); otherwise the
    mask is computed from `hashes` (computed from the lines when not given)."""
    if keep is None:
        if hashes is None:
            hashes = hash_lines(lines)
        elif hashes.shape != (len(lines),):
            raise ValueError(f"{hashes.shape[0]} hashes for {len(lines)} lines")
        keep = ~group.contains(hashes)
        if len(lines) > 1:
            keep &= first_in_document(hashes)
    elif keep.shape != (len(lines),):
        raise ValueError(f"{keep.shape[0]} keep flags for {len(lines)} lines")
    ids = np.flatnonzero(keep).tolist()
    return DedupResult(
        kept_lines=[lines[i] for i in ids],
        line_ids=ids,
        original_nlines=len(lines),
        original_length=sum(map(len, lines)) + max(len(lines) - 1, 0),  # len("\n".join(lines))
    )
