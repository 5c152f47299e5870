"""Token shards: round trip, both dtypes, and the exact Megatron byte layout parsed with struct."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from llamapipe.formats.token_shards import (
    TokenShardError,
    TokenShardReader,
    TokenShardSet,
    TokenShardWriter,
    dtype_for_vocab,
)


def _documents(vocab_size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = [5, 1, 0, 17, 300, 2]
    docs = [rng.integers(0, vocab_size, size=n) for n in lengths]
    docs[3][0] = vocab_size - 1  # the largest id must survive the narrow dtype
    return docs


@pytest.mark.parametrize(
    ("vocab_size", "dtype", "code"),
    [(32000, np.uint16, 8), (65536, np.uint16, 8), (100_000, np.int32, 4)],
)
def test_round_trip_and_dtype(tmp_path, vocab_size, dtype, code):
    docs = _documents(vocab_size)
    with TokenShardWriter(tmp_path / "00000", vocab_size) as writer:
        writer.add_documents(docs)
    reader = TokenShardReader(tmp_path / "00000")
    assert reader.dtype == np.dtype(dtype)
    assert reader.num_documents == len(docs)
    assert reader.num_tokens == sum(len(d) for d in docs)
    for i, doc in enumerate(docs):
        np.testing.assert_array_equal(reader.document(i), doc)
    stream = np.concatenate(docs)
    # windows crossing document boundaries read the concatenated stream
    np.testing.assert_array_equal(reader.tokens(3, 10), stream[3:13])
    np.testing.assert_array_equal(reader.tokens(0, len(stream)), stream)
    assert isinstance(reader.tokens(0, 4), np.memmap)  # a view, not a loaded copy
    with pytest.raises(IndexError):
        reader.tokens(len(stream) - 1, 2)
    assert struct.unpack_from("<B", (tmp_path / "00000.idx").read_bytes(), 17)[0] == code


def test_byte_layout_matches_megatron_spec(tmp_path):
    docs = [np.array([1, 5, 9]), np.array([1, 31999]), np.array([1, 2, 3, 4])]
    with TokenShardWriter(tmp_path / "shard", 32000) as writer:
        writer.add_documents(docs)
    idx = (tmp_path / "shard.idx").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00"
    version, code, count, doc_count = struct.unpack_from("<QBQQ", idx, 9)
    assert (version, code, count, doc_count) == (1, 8, 3, 4)
    offset = 9 + 8 + 1 + 8 + 8
    sizes = struct.unpack_from("<3i", idx, offset)
    pointers = struct.unpack_from("<3q", idx, offset + 12)
    document_indices = struct.unpack_from("<4q", idx, offset + 12 + 24)
    assert sizes == (3, 2, 4)
    assert pointers == (0, 6, 10)  # byte offsets: 2 bytes per uint16 token
    assert document_indices == (0, 1, 2, 3)
    assert len(idx) == offset + 12 + 24 + 32
    bin_bytes = (tmp_path / "shard.bin").read_bytes()
    assert struct.unpack("<9H", bin_bytes) == (1, 5, 9, 1, 31999, 1, 2, 3, 4)


def test_int32_layout(tmp_path):
    with TokenShardWriter(tmp_path / "wide", 70000) as writer:
        writer.add_document([69999, 0])
        writer.add_document([7])
    idx = (tmp_path / "wide.idx").read_bytes()
    assert struct.unpack_from("<B", idx, 17)[0] == 4
    assert struct.unpack_from("<2q", idx, 9 + 8 + 1 + 16 + 8) == (0, 8)
    assert struct.unpack("<3i", (tmp_path / "wide.bin").read_bytes()) == (69999, 0, 7)


def test_rejects_out_of_vocab_ids_and_leaves_no_shard(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        with TokenShardWriter(tmp_path / "bad", 100) as writer:
            writer.add_document([1, 2, 100])
    assert not list(tmp_path.iterdir())  # aborted: no tmp files, no half shard


def test_corrupt_index_is_a_clear_error(tmp_path):
    with TokenShardWriter(tmp_path / "s", 1000) as writer:
        writer.add_document([1, 2, 3])
    idx = tmp_path / "s.idx"
    idx.write_bytes(b"NOTMAGIC!" + idx.read_bytes()[9:])
    with pytest.raises(TokenShardError, match="bad magic"):
        TokenShardReader(tmp_path / "s")
    (tmp_path / "t.idx").write_bytes(b"\x00" * 4)
    (tmp_path / "t.bin").write_bytes(b"")
    with pytest.raises(TokenShardError, match="too short"):
        TokenShardReader(tmp_path / "t")


def test_truncated_bin_is_detected(tmp_path):
    with TokenShardWriter(tmp_path / "s", 1000) as writer:
        writer.add_document([1, 2, 3])
    (tmp_path / "s.bin").write_bytes((tmp_path / "s.bin").read_bytes()[:4])
    with pytest.raises(TokenShardError, match="index says 3 tokens"):
        TokenShardReader(tmp_path / "s")


def test_shard_set_windows_cross_shards(tmp_path):
    rng = np.random.default_rng(1)
    streams = []
    for i, n_docs in enumerate([3, 0, 2]):
        docs = [rng.integers(0, 500, size=int(rng.integers(1, 20))) for _ in range(n_docs)]
        with TokenShardWriter(tmp_path / f"{i:05d}", 500) as writer:
            writer.add_documents(docs)
        streams.extend(docs)
    stream = np.concatenate(streams)
    shards = TokenShardSet.from_directory(tmp_path)
    assert shards.num_tokens == len(stream)
    assert shards.num_documents == 5
    for start in range(len(stream) - 7):
        np.testing.assert_array_equal(shards.tokens(start, 7), stream[start : start + 7])


def test_dtype_for_vocab():
    assert dtype_for_vocab(32000) == np.uint16
    assert dtype_for_vocab(65536) == np.uint16
    assert dtype_for_vocab(65537) == np.int32


def test_add_batch_matches_add_document(tmp_path):
    docs = _documents(32000, seed=5)
    with TokenShardWriter(tmp_path / "one", 32000) as writer:
        writer.add_documents(docs)
    with TokenShardWriter(tmp_path / "batch", 32000) as writer:
        writer.add_batch(np.concatenate(docs), [len(d) for d in docs])
    for suffix in (".bin", ".idx"):
        one = (tmp_path / f"one{suffix}").read_bytes()
        assert one == (tmp_path / f"batch{suffix}").read_bytes()
    with pytest.raises(ValueError, match="does not match"):
        with TokenShardWriter(tmp_path / "bad", 32000) as writer:
            writer.add_batch(np.array([1, 2, 3]), [2])
    with pytest.raises(ValueError, match="integers"):
        with TokenShardWriter(tmp_path / "float", 32000) as writer:
            writer.add_document(np.array([1.5, 2.0]))
