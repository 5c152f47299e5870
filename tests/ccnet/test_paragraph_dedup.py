"""Paragraph dedup over a group of shards, on the two real 2019 WET shards."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from llamapipe.formats.wet import read_wet
from llamapipe.text.ccnet_normalize import hash_lines, normalize_for_dedup
from llamapipe.text.paragraph_dedup import GroupDuplicates, ShardLineHashes, dedup_document

SHARDS = ["CC-MAIN-2019-30-sample-00.warc.wet.gz", "CC-MAIN-2019-30-sample-01.warc.wet.gz"]


def _docs(realdata: Path, name: str) -> list[list[str]]:
    path = realdata / "commoncrawl" / name
    return [r.raw_content.split("\n") for r in read_wet(str(path)) if len(r.raw_content) >= 300]


def test_lines_shared_across_shards_are_removed_everywhere(realdata: Path, tmp_path: Path) -> None:
    docs0, docs1 = _docs(realdata, SHARDS[0]), _docs(realdata, SHARDS[1])
    shard0 = ShardLineHashes.from_documents(docs0)
    shard1 = ShardLineHashes.from_documents(docs1)
    # arrays survive a save/load round trip as sorted unique uint64
    shard0.save(tmp_path / "h.npy", tmp_path / "c.npy")
    loaded = ShardLineHashes.load(tmp_path / "h.npy", tmp_path / "c.npy")
    assert np.array_equal(loaded.hashes, shard0.hashes) and loaded.hashes.dtype == np.uint64
    assert np.all(np.diff(shard0.hashes.astype(np.float64)) > 0)

    group = GroupDuplicates.from_shards([shard0, shard1])
    norm0 = Counter(normalize_for_dedup(line) for doc in docs0 for line in doc)
    norm1 = Counter(normalize_for_dedup(line) for doc in docs1 for line in doc)
    across = {line for line in norm0 if line in norm1}
    assert len(across) >= 10  # real boilerplate crosses the shard boundary
    kept_norm = set()
    for doc in docs0 + docs1:
        result = dedup_document(doc, group)
        assert result.original_nlines == len(doc)
        assert result.kept_lines == [doc[i] for i in result.line_ids]
        kept_norm.update(normalize_for_dedup(line) for line in result.kept_lines)
    assert not (kept_norm & across)
    # lines seen twice inside one shard go too (first occurrence included)
    within = {line for line, n in (norm0 + norm1).items() if n >= 2}
    assert not (kept_norm & within)
    # and every line seen once survives
    once = {line for line, n in (norm0 + norm1).items() if n == 1}
    assert once <= kept_norm


def test_group_set_is_within_memory_budget(realdata: Path) -> None:
    shards = [ShardLineHashes.from_documents(_docs(realdata, name)) for name in SHARDS]
    lines = sum(int(s.counts.sum()) for s in shards)
    group = GroupDuplicates.from_shards(shards)
    # the kept set is 8 bytes per DUPLICATED hash only, well under 12 bytes per line
    assert group.nbytes <= 8 * lines
    assert group.total_unique_lines == sum(s.hashes.size for s in shards)


def test_in_document_repeat_removed_and_empty_group() -> None:
    doc = ["Intro line here", "Share this page", "Body text", "SHARE this page"]
    shard = ShardLineHashes.from_documents([doc])
    group = GroupDuplicates.from_shards([shard])
    result = dedup_document(doc, group)
    assert result.kept_lines == ["Intro line here", "Body text"]
    assert result.line_ids == [0, 2]
    # without any group knowledge, the in-document check still drops the later repeat
    alone = dedup_document(["a line", "A Line", "b"], GroupDuplicates(np.empty(0, np.uint64)))
    assert alone.kept_lines == ["a line", "b"] and alone.line_ids == [0, 2]
    assert group.contains(hash_lines(["Body text", "Share this page"])).tolist() == [False, True]


def test_dedup_document_matches_a_line_by_line_reference(realdata: Path) -> None:
    """The vectorised dedup against the plain rule, on real pages deduplicated against a group
    that holds only the other shard (so in-document repeats are left to the in-document check):
    keep a line iff its hash is not a group duplicate and was not kept earlier in the page."""
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
                seen.add(h)
                ids.append(i)
        repeats += len(set(hashes)) < len(hashes)
        result = dedup_document(doc, group)
        assert result.line_ids == ids
        assert result.kept_lines == [doc[i] for i in ids]
        assert result.original_length == len("\n".join(doc))
    assert repeats >= 5  # real pages repeat lines inside themselves
