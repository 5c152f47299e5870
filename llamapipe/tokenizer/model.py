"""A trained tokenizer and its special ids.

Ids (LLaMA's, fixed by TokenizerConfig and checked after training):

====  ===========  ==========================================================
id    piece        use
====  ===========  ==========================================================
0     ``<unk>``    never produced for text: byte fallback covers every char
1     ``<s>``      BOS, prepended to every document
2     ``</s>``     EOS, appended only when ``tokenizer.add_eos``
3-258 ``<0x00>``.. byte-fallback pieces, one per byte value, in byte order
259+  merges       learned BPE pieces
====  ===========  ==========================================================

There is no pad piece (``pad_id = -1``), as in LLaMA; training packs documents so it needs none.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

#: First byte-fallback piece id with unk/bos/eos at 0/1/2.
FIRST_BYTE_ID = 3


@dataclass(frozen=True)
class SpecialIds:
    unk_id: int
    bos_id: int
    eos_id: int
    pad_id: int

    @classmethod
    def of(cls, sp: spm.SentencePieceProcessor) -> SpecialIds:
        return cls(sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id())


def load_tokenizer(path: str | Path) -> spm.SentencePieceProcessor:
    """A SentencePiece processor for ``path`` (a clear error if it is missing or corrupt)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: tokenizer model not found (run `llamapipe tokenize`)")
    sp = spm.SentencePieceProcessor()
    try:
        sp.Load(str(path))
    except (OSError, RuntimeError) as exc:
        raise ValueError(f"{path}: not a SentencePiece model ({exc})") from None
    return sp


@functools.lru_cache(maxsize=4)
def cached_tokenizer(path: str, mtime_ns: int) -> spm.SentencePieceProcessor:
    """One processor per model file per worker process (loading costs ~10 ms per shard)."""
    del mtime_ns  # part of the cache key only: a retrained model is reloaded
    return load_tokenizer(path)


def worker_tokenizer(path: Path) -> spm.SentencePieceProcessor:
    return cached_tokenizer(str(path), path.stat().st_mtime_ns)
