"""Document perplexity under a SentencePiece + KenLM model, computed as CCNet defines it.

Default unit "document", as cc_net's mining pipeline does it: the whole deduplicated
text is normalized as ONE string (CCNet's LM normalization; the newline is a non-printing
character, so the lines are glued with no separator), SentencePiece-encoded and scored as one
sentence with boundaries: ``round(10 ** (-log10 P / (pieces + 1)), 1)``. CCNet's published
cutoffs assume this.

Unit "line" (not CCNet's; `sources.commoncrawl.lm.perplexity_unit = "line"`): each line is
normalized, encoded and scored alone, and the document's perplexity is
``10 ** (-sum(log10 P(line)) / sum(pieces(line) + 1))``; on real pages a median 1.16x lower.

Buckets: perplexity < p30 -> head, < p60 -> middle, else tail (CCNet's per-language cutoffs;
English with CCNet's own models: `CCNET_EN_CUTOFFS` in llamapipe/recipe.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.recipe import CCNET_PERPLEXITY_PERCENTILES
from llamapipe.text.ccnet_normalize import normalize_lines_for_lm

BUCKETS = ("head", "middle", "tail")
#: What one KenLM query scores: CCNet's whole document, or each line (see the module doc).
PERPLEXITY_UNITS = ("document", "line")


def perplexity_from_scores(log10_sum: float, length: int) -> float:
    """CCNet's perplexity of a total log10 probability over `length` scored tokens."""
    if length <= 0:
        return -1.0
    return round(10.0 ** (-log10_sum / length), 1)


class PerplexityScorer:
    """SentencePiece model + KenLM model, loaded lazily (once per worker process)."""

    def __init__(self, sp_model: str | Path, lm_model: str | Path, unit: str = "document") -> None:
        if unit not in PERPLEXITY_UNITS:
            raise ValueError(f"perplexity unit {unit!r}: use one of {PERPLEXITY_UNITS}")
        self.sp_model = Path(sp_model)
        self.lm_model = Path(lm_model)
        self.unit = unit
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
        """The sentences KenLM scores, SentencePiece pieces separated by spaces: one for the
        whole document (unit "document"; none when it normalizes to nothing, as cc_net then
        scores nothing), or one per line (unit "line")."""
        if self._sp is None:
            self._load()
        normalized = normalize_lines_for_lm(lines)
        if self.unit == "document":
            # CCNet's normalize(text) of the joined lines deletes the newlines, and every rule
            # acts per character or stops at a newline (ccnet_normalize.py), so it equals the
            # per-line forms glued together.
            glued = "".join(normalized)
            return [" ".join(self._sp.encode(glued, out_type=str))] if glued else []
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
        return self.perplexities([text])[0]

    def perplexities(self, texts: Sequence[str]) -> list[float]:
        """`perplexity` of each text; all are tokenized first, then all scored, so that the
        SentencePiece and KenLM tables each stay in the CPU caches for a whole batch."""
        tokenized = [self.tokenize(text.split("\n")) if text else [] for text in texts]
        return [
            perplexity_from_scores(*self._score_tokenized(sentences)) if sentences else -1.0
            for sentences in tokenized
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
    perplexities: Iterable[float], percentiles: tuple[float, float] = CCNET_PERPLEXITY_PERCENTILES
) -> tuple[float, float]:
    """Per-language cutoffs from a sample of document perplexities (CCNet: p30, p60)."""
    values = np.asarray([p for p in perplexities if p >= 0], dtype=np.float64)
    if values.size == 0:
        raise ValueError("no perplexities to compute cutoffs from")
    low, high = np.percentile(values, percentiles)
    return round(float(low), 1), round(float(high), 1)
