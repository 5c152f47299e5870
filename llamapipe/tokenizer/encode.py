"""Documents -> token ids, a batch at a time.

Batches keep the per-document Python overhead small: one SentencePiece call per batch (its C++
loop does the work) and one flat numpy array per batch for the shard writer, so encoding runs at
close to raw SentencePiece speed (see bench/bench_tokenize.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import sentencepiece as spm


def encode_batch(
    sp: spm.SentencePieceProcessor,
    texts: Sequence[str],
    *,
    add_bos: bool,
    add_eos: bool,
    num_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """``(flat ids int32, tokens per document int64)`` for the texts, in order."""
    if not texts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    ids = sp.Encode(list(texts), add_bos=add_bos, add_eos=add_eos, num_threads=num_threads)
    sizes = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(sizes.sum()))
    return flat, sizes


def decode(sp: spm.SentencePieceProcessor, ids: Sequence[int] | np.ndarray) -> str:
    """Text of token ids (BOS/EOS dropped), the inverse of encoding for any text."""
    return sp.Decode([int(i) for i in ids])
