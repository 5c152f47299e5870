"""Token shards: tokenized documents in Megatron-LM's indexed dataset (MMapIndexedDataset) format.

Why this format: it is what Megatron-LM, NeMo, GPT-NeoX and Megatron-DeepSpeed train from, so a
llamapipe run's tokens can be fed to those trainers unchanged, and it is trivially memory-mapped:
training reads any window of tokens without loading a shard.

A shard is a pair of files sharing a prefix, ``<prefix>.bin`` and ``<prefix>.idx``.

``<prefix>.bin``
    The token ids of every document, concatenated in document order, as raw little-endian
    integers of the shard's dtype. No header, no separators: document boundaries live in the index.

``<prefix>.idx`` (all integers little-endian)

    ======  ===========================  =====================================================
    bytes   field                        value
    ======  ===========================  =====================================================
    9       magic                        ``b"MMIDIDX\\x00\\x00"``
    8       version                      uint64, ``1``
    1       dtype code                   uint8, Megatron's codes: 1 uint8, 2 int8, 3 int16,
                                         4 int32, 5 int64, 6 float64, 7 float32, 8 uint16
    8       sequence count ``n``         uint64
    8       document-index count         uint64, ``n + 1`` (see below)
    4n      sizes                        int32[n], tokens in each sequence
    8n      pointers                     int64[n], byte offset of each sequence in ``.bin``
    8(n+1)  document indices             int64[n + 1], ``0, 1, ..., n``
    ======  ===========================  =====================================================

Megatron distinguishes *sequences* (rows of ``sizes``) from *documents* (runs of sequences,
delimited by the document indices, which start with 0 and end with ``n``; the stored count is the
length of that array, so ``n + 1``). llamapipe writes one sequence per document, so the document
indices are simply ``0..n``.

Dtype: uint16 (code 8) when every id fits (``vocab_size <= 65536``; LLaMA's 32000 does), halving
disk and page-cache use. Larger vocabularies use int32 (code 4), not uint32: Megatron's dtype table
has no uint32 code, so a uint32 shard would not be readable by Megatron-LM, and int32 holds any id
below 2**31, far above any real vocabulary.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1

#: Megatron-LM's dtype codes (the ``DType`` enum of its indexed dataset).
DTYPE_CODES: dict[int, type[np.generic]] = {
    1: np.uint8,
    2: np.int8,
    3: np.int16,
    4: np.int32,
    5: np.int64,
    6: np.float64,
    7: np.float32,
    8: np.uint16,
}
CODE_OF_DTYPE: dict[np.dtype, int] = {np.dtype(t): code for code, t in DTYPE_CODES.items()}

#: Header: magic, version (u64), dtype code (u8), sequence count (u64), document-index count (u64).
HEADER_STRUCT = struct.Struct("<9sQBQQ")


class TokenShardError(ValueError):
    """A token shard is malformed; the message names the file and what is wrong."""


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """The narrowest Megatron-readable dtype holding every id of a vocabulary of this size."""
    if vocab_size <= 0:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    if vocab_size <= 2**16:
        return np.dtype(np.uint16)
    if vocab_size <= 2**31:
        return np.dtype(np.int32)
    raise ValueError(f"vocab_size {vocab_size} does not fit int32, the widest token dtype")


def shard_paths(prefix: str | Path) -> tuple[Path, Path]:
    """``(<prefix>.bin, <prefix>.idx)``."""
    prefix = str(prefix)
    return Path(prefix + ".bin"), Path(prefix + ".idx")


class TokenShardWriter:
    """Streams documents (arrays of token ids) into one token shard.

    Both files are written under temporary names and renamed on :meth:`close`, ``.bin`` first and
    ``.idx`` last, so a shard whose ``.idx`` exists is complete: a crash mid-write leaves only
    ``*.tmp`` files, never a shard that looks valid but is truncated.
    """

    def __init__(self, prefix: str | Path, vocab_size: int) -> None:
        self.bin_path, self.idx_path = shard_paths(prefix)
        self.bin_path.parent.mkdir(parents=True, exist_ok=True)
        self.vocab_size = vocab_size
        self.dtype = dtype_for_vocab(vocab_size)
        self._tmp_bin = self.bin_path.with_name(self.bin_path.name + ".tmp")
        self._tmp_idx = self.idx_path.with_name(self.idx_path.name + ".tmp")
        self._bin = open(self._tmp_bin, "wb")  # closed in close() or abort()
        self._sizes: list[int] = []
        self._closed = False

    @property
    def num_documents(self) -> int:
        return len(self._sizes)

    @property
    def num_tokens(self) -> int:
        return sum(self._sizes)

    def add_document(self, tokens: Sequence[int] | np.ndarray) -> None:
        """Append one document; ids outside ``[0, vocab_size)`` are an error, never wrapped."""
        array = np.asarray(tokens)
        if array.ndim != 1:
            raise ValueError(f"{self.bin_path}: a document must be 1-D, got shape {array.shape}")
        if array.size and array.dtype.kind not in "iu":
            raise ValueError(f"{self.bin_path}: token ids must be integers, got {array.dtype}")
        if array.size:
            low, high = int(array.min()), int(array.max())
            if low < 0 or high >= self.vocab_size:
                raise ValueError(
                    f"{self.bin_path}: document {len(self._sizes)} has token id "
                    f"{low if low < 0 else high} outside [0, {self.vocab_size})"
                )
        if array.size >= 2**31:
            raise ValueError(f"{self.bin_path}: document of {array.size} tokens exceeds int32")
        self._bin.write(array.astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
        self._sizes.append(int(array.size))

    def add_batch(self, flat: np.ndarray, sizes: Sequence[int] | np.ndarray) -> None:
        """Append several documents given as one flat id array and their lengths (one write)."""
        flat = np.asarray(flat)
        sizes_array = np.asarray(sizes, dtype=np.int64)
        if flat.size and flat.dtype.kind not in "iu":
            raise ValueError(f"{self.bin_path}: token ids must be integers, got {flat.dtype}")
        if flat.ndim != 1 or int(sizes_array.sum()) != flat.size:
            raise ValueError(
                f"{self.bin_path}: batch of {flat.size} ids does not match sizes "
                f"summing to {int(sizes_array.sum())}"
            )
        if sizes_array.size and (sizes_array.min() < 0 or sizes_array.max() >= 2**31):
            raise ValueError(f"{self.bin_path}: document sizes must be in [0, 2**31)")
        if flat.size:
            low, high = int(flat.min()), int(flat.max())
            if low < 0 or high >= self.vocab_size:
                raise ValueError(
                    f"{self.bin_path}: batch has token id {low if low < 0 else high} "
                    f"outside [0, {self.vocab_size})"
                )
        self._bin.write(flat.astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
        self._sizes.extend(int(n) for n in sizes_array)

    def add_documents(self, documents: Iterable[Sequence[int] | np.ndarray]) -> None:
        for tokens in documents:
            self.add_document(tokens)

    def close(self) -> None:
        """Write the index and publish both files under their final names."""
        if self._closed:
            return
        self._closed = True
        self._bin.flush()
        os.fsync(self._bin.fileno())
        self._bin.close()
        with open(self._tmp_idx, "wb") as out:
            out.write(index_bytes(self._sizes, self.dtype))
            out.flush()
            os.fsync(out.fileno())
        os.replace(self._tmp_bin, self.bin_path)
        os.replace(self._tmp_idx, self.idx_path)

    def abort(self) -> None:
        """Drop a partially written shard (its temporary files)."""
        if self._closed:
            return
        self._closed = True
        self._bin.close()
        for tmp in (self._tmp_bin, self._tmp_idx):
            tmp.unlink(missing_ok=True)

    def __enter__(self) -> TokenShardWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def index_bytes(sizes: Sequence[int] | np.ndarray, dtype: np.dtype) -> bytes:
    """The complete ``.idx`` content for sequences of these lengths, one document each."""
    dtype = np.dtype(dtype)
    if dtype not in CODE_OF_DTYPE:
        raise ValueError(f"dtype {dtype} has no Megatron dtype code")
    sizes_array = np.asarray(sizes, dtype="<i4")
    count = int(sizes_array.size)
    pointers = np.zeros(count, dtype="<i8")
    if count > 1:
        np.cumsum(sizes_array[:-1].astype("<i8") * dtype.itemsize, out=pointers[1:])
    document_indices = np.arange(count + 1, dtype="<i8")
    header = HEADER_STRUCT.pack(MAGIC, VERSION, CODE_OF_DTYPE[dtype], count, count + 1)
    return header + sizes_array.tobytes() + pointers.tobytes() + document_indices.tobytes()


class TokenShardReader:
    """Memory-mapped read access to one token shard; nothing is loaded until it is sliced.

    Documents are the Megatron *sequences* (llamapipe writes one per document); ``tokens`` views
    the ``.bin`` as one stream, so a training window may span document boundaries.
    """

    def __init__(self, prefix: str | Path) -> None:
        self.bin_path, self.idx_path = shard_paths(prefix)
        for path in (self.bin_path, self.idx_path):
            if not path.exists():
                raise FileNotFoundError(f"{path}: token shard file missing")
        self._index = np.memmap(self.idx_path, dtype=np.uint8, mode="r")
        if self._index.size < HEADER_STRUCT.size:
            raise TokenShardError(f"{self.idx_path}: too short for a Megatron index header")
        magic, version, code, count, doc_count = HEADER_STRUCT.unpack(
            self._index[: HEADER_STRUCT.size].tobytes()
        )
        if magic != MAGIC:
            raise TokenShardError(f"{self.idx_path}: bad magic {magic!r}, not an MMIDIDX index")
        if version != VERSION:
            raise TokenShardError(f"{self.idx_path}: unsupported index version {version}")
        if code not in DTYPE_CODES:
            raise TokenShardError(f"{self.idx_path}: unknown dtype code {code}")
        self.dtype = np.dtype(DTYPE_CODES[code]).newbyteorder("<")
        expected = HEADER_STRUCT.size + count * 4 + count * 8 + doc_count * 8
        if self._index.size != expected:
            raise TokenShardError(
                f"{self.idx_path}: {self._index.size} bytes, expected {expected} for "
                f"{count} sequences and {doc_count} document indices"
            )
        offset = HEADER_STRUCT.size
        self.sizes = np.frombuffer(self._index, dtype="<i4", count=count, offset=offset)
        offset += count * 4
        self.pointers = np.frombuffer(self._index, dtype="<i8", count=count, offset=offset)
        offset += count * 8
        self.document_indices = np.frombuffer(
            self._index, dtype="<i8", count=doc_count, offset=offset
        )
        self._num_tokens = int(self.sizes.sum(dtype=np.int64))
        bin_bytes = self.bin_path.stat().st_size
        if bin_bytes != self._num_tokens * self.dtype.itemsize:
            raise TokenShardError(
                f"{self.bin_path}: {bin_bytes} bytes, index says "
                f"{self._num_tokens} tokens of {self.dtype.itemsize} bytes"
            )
        if bin_bytes:
            self._tokens = np.memmap(self.bin_path, dtype=self.dtype, mode="r")
        else:  # numpy cannot map an empty file
            self._tokens = np.zeros(0, dtype=self.dtype)

    @property
    def num_documents(self) -> int:
        return int(self.sizes.size)

    @property
    def num_tokens(self) -> int:
        return self._num_tokens

    def __len__(self) -> int:
        return self.num_documents

    def document(self, i: int) -> np.ndarray:
        """Token ids of document ``i`` (a read-only view into the mapped ``.bin``)."""
        if not -self.num_documents <= i < self.num_documents:
            raise IndexError(f"{self.bin_path}: document {i} of {self.num_documents}")
        i %= self.num_documents
        start = int(self.pointers[i]) // self.dtype.itemsize
        return self._tokens[start : start + int(self.sizes[i])]

    def tokens(self, start: int, length: int) -> np.ndarray:
        """``length`` tokens of the concatenated stream from ``start`` (crosses documents)."""
        if start < 0 or length < 0 or start + length > self._num_tokens:
            raise IndexError(
                f"{self.bin_path}: window [{start}, {start + length}) outside "
                f"[0, {self._num_tokens})"
            )
        return self._tokens[start : start + length]


class TokenShardSet:
    """Several token shards read as one stream in order, e.g. ``<run>/tokens/train/*.idx``.

    Why: the training stream is written as many shards (one per encode/blend worker); the
    data loader wants global token offsets, so windows may cross shard boundaries.
    """

    def __init__(self, prefixes: Iterable[str | Path]) -> None:
        self.shards = [TokenShardReader(prefix) for prefix in prefixes]
        counts = [shard.num_tokens for shard in self.shards]
        self.offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        dtypes = {shard.dtype for shard in self.shards}
        if len(dtypes) > 1:
            raise TokenShardError(f"token shards mix dtypes {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else np.dtype("<u2")
        self._doc_offsets: np.ndarray | None = None

    @classmethod
    def from_directory(cls, directory: str | Path) -> TokenShardSet:
        """All shards of a directory in name order (``00000.idx``, ``00001.idx``, ...)."""
        directory = Path(directory)
        prefixes = sorted(p.with_suffix("") for p in directory.glob("*.idx"))
        if not prefixes:
            raise FileNotFoundError(f"{directory}: no token shards (*.idx)")
        return cls(prefixes)

    @property
    def num_tokens(self) -> int:
        return int(self.offsets[-1])

    def document_sizes(self) -> np.ndarray:
        """Tokens per document over all shards, in order (int64)."""
        if not self.shards:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([shard.sizes.astype(np.int64) for shard in self.shards])

    def document(self, i: int) -> np.ndarray:
        """Document ``i`` counted over all shards in order."""
        if self._doc_offsets is None:
            counts = [shard.num_documents for shard in self.shards]
            self._doc_offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        if not 0 <= i < int(self._doc_offsets[-1]):
            raise IndexError(f"document {i} of {int(self._doc_offsets[-1])}")
        shard = int(np.searchsorted(self._doc_offsets, i, side="right")) - 1
        return self.shards[shard].document(i - int(self._doc_offsets[shard]))

    @property
    def num_documents(self) -> int:
        return sum(shard.num_documents for shard in self.shards)

    def tokens(self, start: int, length: int) -> np.ndarray:
        """``length`` tokens from global position ``start``; copies only when crossing shards."""
        if start < 0 or length < 0 or start + length > self.num_tokens:
            raise IndexError(f"window [{start}, {start + length}) outside [0, {self.num_tokens})")
        first = int(np.searchsorted(self.offsets, start, side="right")) - 1
        pieces = []
        position, remaining = start, length
        shard_index = first
        while remaining > 0:
            shard = self.shards[shard_index]
            local = position - int(self.offsets[shard_index])
            take = min(remaining, shard.num_tokens - local)
            pieces.append(shard.tokens(local, take))
            position += take
            remaining -= take
            shard_index += 1
        if len(pieces) == 1:
            return pieces[0]
        if not pieces:
            return np.zeros(0, dtype=self.dtype)
        return np.concatenate(pieces)
