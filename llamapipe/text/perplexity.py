"""Document perplexity under a SentencePiece + KenLM model, computed as CCNet defines it.

Per line: CCNet's LM normalization, SentencePiece pieces joined by spaces, KenLM log10
probability with sentence boundaries. The document's perplexity is
``10 ** (-sum(log10 P(line)) / sum(pieces(line) + 1))`` rounded to one decimal (the +1 counts
the end-of-sentence token). Lines are normalized one at a time: cc_net normalized the whole
document first, which deletes the newlines (control characters) and scores one glued line.

Buckets: perplexity < p30 -> head, < p60 -> middle, else tail (CCNet's per-language cutoffs;
English with CCNet's own models: 340 / 520).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.text.ccnet_normalize import normalize_lines_for_lm

#: CCNet's cutoffs for English with its published models (p30, p60).
CCNET_EN_CUTOFFS = (340.0, 520.0)
BUCKETS = ("head", "middle", "tail")


def perplexity_from_scores(log10_sum: float, length: int) -> float:
    """CCNet's perplexity of a total log10 probability over `length` scored tokens."""
    if length <= 0:
        return -1.0
    return round(10.0 ** (-log10_sum / length), 1)


class PerplexityScorer:
    """SentencePiece model + KenLM model, loaded lazily (once per worker process)."""

    def __init__(self, sp_model: str | Path, lm_model: str | Path) -> None:
        self.sp_model = Path(sp_model)
        self.lm_model = Path(lm_model)
        self._sp: Any = None
        self._lm: Any = None

    def _load(self) -> None:
        import kenlm
        import sentencepiece as spm

        for path in (self.sp_model, self.lm_model):
            if not path.is_file():
                raise FileNotFoundError(f"perplexity model not found: {path}")
        self._sp = spm.SentencePieceProcessor(model_file=str(self.sp_model))
        self._lm = kenlm.Model(str(self.lm_model))

    def tokenize(self, lines: Sequence[str]) -> list[str]:
        """Normalized, SentencePiece-tokenized lines (pieces separated by spaces)."""
        if self._sp is None:
            self._load()
        normalized = normalize_lines_for_lm(lines)
        # Line by line: a batch call starts worker threads on every call, which for a page's
        # few dozen lines costs 2-5x the wall time of encoding them (measured here).
        encode = self._sp.encode
        return [" ".join(encode(line, out_type=str)) for line in normalized]

    def _score_tokenized(self, tokenized: Sequence[str]) -> tuple[float, int]:
        score = self._lm.score
        log_sum = 0.0
        for sentence in tokenized:  # summed in line order, as a float: keep it a plain loop
            log_sum += score(sentence, bos=True, eos=True)
        # Tokens of all lines counted by one split of the joined lines (a space never merges
        # two tokens), plus one </s> per line.
        length = len(" ".join(tokenized).split()) + len(tokenized)
        return log_sum, length

    def score_lines(self, lines: Sequence[str]) -> tuple[float, int]:
        """(sum of log10 probabilities, number of scored tokens incl. one </s> per line)."""
        if not lines:
            return 0.0, 0
        return self._score_tokenized(self.tokenize(lines))

    def perplexity(self, text: str) -> float:
        """Perplexity of a document whose lines are separated by newlines (-1 when empty)."""
        if not text:
            return -1.0
        return perplexity_from_scores(*self.score_lines(text.split("\n")))

    def perplexities(self, texts: Sequence[str]) -> list[float]:
        """`perplexity` of each text; all are tokenized first, then all scored, so that the
        SentencePiece and KenLM tables each stay in the CPU caches for a whole batch."""
        tokenized = [self.tokenize(text.split("\n")) if text else None for text in texts]
        return [
            perplexity_from_scores(*self._score_tokenized(lines)) if lines is not None else -1.0
            for lines in tokenized
        ]


def bucket_for(perplexity: float, cutoffs: tuple[float, float] | None) -> str:
    """head / middle / tail by (p_head, p_tail); "all" when no cutoffs or no perplexity."""
    if cutoffs is None or perplexity < 0:
        return "all"
    head, tail = cutoffs
    if perplexity < head:
        return "head"
    if perplexity < tail:
        return "middle"
    return "tail"


def percentile_cutoffs(
    perplexities: Iterable[float], percentiles: tuple[float, float] = (30, 60)
) -> tuple[float, float]:
    """Per-language cutoffs from a sample of document perplexities (CCNet: p30, p60)."""
    values = np.asarray([p for p in perplexities if p >= 0], dtype=np.float64)
    if values.size == 0:
        raise ValueError("no perplexities to compute cutoffs from")
    low, high = np.percentile(values, percentiles)
    return round(float(low), 1), round(float(high), 1)
