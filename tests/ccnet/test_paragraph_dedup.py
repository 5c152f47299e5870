"""Paragraph dedup over a group of shards (cc_net's two-pass rule), on the two real 2019 WET
shards: a line goes when it occurs in two or more documents of the group; a line repeated only
inside one document keeps its first copy. cc_net itself is compared in test_ccnet_parity.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llamapipe.formats.wet import read_wet
from llamapipe.text.ccnet_normalize import hash_lines, normalize_for_dedup
from llamapipe.text.paragraph_dedup import (
    GroupDuplicates,
    ShardLineHashes,
    ShardLineRefs,
    dedup_document,
    index_shard,
    shard_keep_mask,
)

SHARDS = ["CC-MAIN-2019-30-sample-00.warc.wet.gz", "CC-MAIN-2019-30-sample-01.warc.wet.gz"]


def _docs(realdata: Path, name: str) -> list[list[str]]:
    path = realdata / "commoncrawl" / name
    return [r.raw_content.split("\n") for r in read_wet(str(path)) if len(r.raw_content) >= 300]


def _document_counts(docs: list[list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in docs:
        for line in {normalize_for_dedup(line) for line in doc}:
            counts[line] = counts.get(line, 0) + 1
    return counts


def test_lines_in_two_documents_go_everywhere_and_in_document_repeats_keep_one(
    realdata: Path,
) -> None:
    docs0, docs1 = _docs(realdata, SHARDS[0]), _docs(realdata, SHARDS[1])
    group = GroupDuplicates.from_shards(
        [ShardLineHashes.from_documents(docs0), ShardLineHashes.from_documents(docs1)]
    )
    per_doc = _document_counts(docs0 + docs1)
    across_shards = set(_document_counts(docs0)) & set(_document_counts(docs1))
    assert len(across_shards) >= 10  # real boilerplate crosses the shard boundary
    repeated_inside_one = 0
    for doc in docs0 + docs1:
        result = dedup_document(doc, group)
        assert result.original_nlines == len(doc)
        assert result.kept_lines == [doc[i] for i in result.line_ids]
        kept = [normalize_for_dedup(line) for line in result.kept_lines]
        assert len(kept) == len(set(kept))  # one copy at most
        assert all(per_doc[line] == 1 for line in kept)  # never a line of two documents
        norms = [normalize_for_dedup(line) for line in doc]
        single = {line for line in norms if per_doc[line] == 1}
        assert set(kept) == single  # every line of this document alone is kept, once...
        first = {}
        for i, line in enumerate(norms):
            first.setdefault(line, i)
        assert result.line_ids == sorted(first[line] for line in single)  # ...its first copy
        repeated_inside_one += len(single) < sum(norms.count(line) for line in single)
    assert repeated_inside_one >= 5  # real pages repeat their own lines; they keep one copy


def test_in_document_repeat_keeps_its_first_copy() -> None:
    doc = ["Intro line here", "Share this page", "Body text", "SHARE this page"]
    alone = GroupDuplicates.from_shards([ShardLineHashes.from_documents([doc])])
    result = dedup_document(doc, alone)
    assert result.kept_lines == ["Intro line here", "Share this page", "Body text"]
    assert result.line_ids == [0, 1, 2]
    # a second document with the repeated line: now it goes from both, first copy included
    other = ["share this page", "Something else"]
    group = GroupDuplicates.from_shards([ShardLineHashes.from_documents([doc, other])])
    assert dedup_document(doc, group).line_ids == [0, 2]
    assert dedup_document(other, group).line_ids == [1]
    assert group.contains(hash_lines(["Body text", "Share this page"])).tolist() == [False, True]
    # the same, with the two documents in two shards of one group
    split = GroupDuplicates.from_shards(
        [ShardLineHashes.from_documents([doc]), ShardLineHashes.from_documents([other])]
    )
    assert np.array_equal(split.duplicates, group.duplicates)


def test_shard_index_round_trip_and_keep_mask(realdata: Path, tmp_path: Path) -> None:
    """`index_shard` against plain Python on a real shard: distinct hashes in order of first
    appearance, document counts, per-line references and repeats survive save/load, and the
    per-line keep mask of the filter pass equals `dedup_document` page by page."""
    docs0, docs1 = _docs(realdata, SHARDS[0]), _docs(realdata, SHARDS[1])
    arrays = [hash_lines(doc) for doc in docs0]
    shard, refs = index_shard(arrays)
    shard.save(tmp_path / "h.npy", tmp_path / "c.npy")
    refs.save(tmp_path / "lines.npz")
    shard = ShardLineHashes.load(tmp_path / "h.npy", tmp_path / "c.npy", mmap=True)
    refs = ShardLineRefs.load(tmp_path / "lines.npz")

    order: dict[int, int] = {}
    doc_count: dict[int, int] = {}
    ids, repeats = [], []
    for a in arrays:
        seen: set[int] = set()
        for h in a.tolist():
            order.setdefault(h, len(order))
            ids.append(order[h])
            repeats.append(h in seen)
            if h not in seen:
                doc_count[h] = doc_count.get(h, 0) + 1
            seen.add(h)
    assert shard.hashes.tolist() == list(order)
    assert shard.counts.tolist() == [min(doc_count[h], 255) for h in order]
    assert refs.n_lines == len(ids) and refs.ids().tolist() == ids
    assert refs.repeats().tolist() == repeats
    assert refs.refs.dtype == np.uint16  # a small shard: 2-byte references

    group = GroupDuplicates.from_shards([shard, ShardLineHashes.from_documents(docs1)])
    keep = shard_keep_mask(group, shard, refs)
    offset = 0
    for doc in docs0:
        end = offset + len(doc)
        assert dedup_document(doc, group, keep=keep[offset:end]) == dedup_document(doc, group)
        offset = end
    assert offset == keep.size


def test_hashes_on_disk_are_at_most_10_bytes_per_line(realdata: Path) -> None:
    """Issue 15's budget: the hash pass's files take <= 10 B per line (cc_net: ~7), on the
    real shards and in the worst case (every line distinct, 4-byte references)."""
    for name in SHARDS:
        shard, refs = index_shard(hash_lines(doc) for doc in _docs(realdata, name))
        assert (shard.nbytes + refs.nbytes) / refs.n_lines <= 10
    distinct = np.arange(70_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    shard, refs = index_shard([distinct[:40_000], distinct[40_000:], distinct[:10]])
    assert refs.refs.dtype == np.uint32
    assert (shard.nbytes + refs.nbytes) / refs.n_lines <= 9.3


def test_dedup_document_matches_a_line_by_line_reference(realdata: Path) -> None:
    """The vectorised dedup against cc_net's plain rule (its `finalize_doc`): keep a line
    iff its hash is not a group duplicate and no earlier line of the page has its hash."""
    docs0, docs1 = _docs(realdata, SHARDS[0]), _docs(realdata, SHARDS[1])
    group = GroupDuplicates.from_shards([ShardLineHashes.from_documents(docs1)])
    dup = set(group.duplicates.tolist())
    repeats = 0
    for doc in docs0 + [["x", "y", "X", "x", "z", "y"], []]:
        hashes = hash_lines(doc).tolist()
        seen: set[int] = set()
        ids = []
        for i, h in enumerate(hashes):
            if h not in dup and h not in seen:
                ids.append(i)
            seen.add(h)
        repeats += len(set(hashes)) < len(hashes)
        result = dedup_document(doc, group)
        assert result.line_ids == ids
        assert result.kept_lines == [doc[i] for i in ids]
        assert result.original_length == len("\n".join(doc))
    assert repeats >= 5  # real pages repeat lines inside themselves
