"""The mix plan: tokens drawn per source, epochs, which documents, in which blended order.

Mixing happens after tokenization, at the token-shard level (as Megatron-LM blends datasets), so
every count here is a real token count and the realized shares equal the targets up to rounding:

- Budget ``T``: ``mix.total_tokens``, or, when unset, the largest budget that uses no source more
  than once, ``min_s unique_s / weight_s`` (the limiting source is used exactly once).
- Tokens drawn from source ``s``: ``weight_s * T`` (largest-remainder rounding, summing to ``T``);
  epochs ``= drawn_s / unique_s``.
- Documents: whole passes over the source, each a fresh permutation of its documents (so a
  repeated source is seen in a new order every epoch), then a partial pass that takes documents
  of one more permutation until the count is reached; the last of them is cut to fit, which is
  what makes counts exact. Subsampling a large source is just that partial pass.
- The drawn documents of all sources are shuffled together and cut into training shards of
  about ``mix.tokens_per_train_shard`` tokens, at document boundaries.

Everything is a pure function of (document sizes, weights, budget, seed), so each blend worker
recomputes the plan and writes its own slice: no coordinator, byte-identical on re-runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from llamapipe.mix.keys import stable_seed


@dataclass(frozen=True)
class SourceDraw:
    """How much of one source goes into the training stream."""

    source: str
    weight: float  # normalized target share of training tokens
    unique_tokens: int
    drawn_tokens: int

    @property
    def epochs(self) -> float:
        return self.drawn_tokens / self.unique_tokens if self.unique_tokens else 0.0


def normalized_weights(weights: Mapping[str, float], sources: Sequence[str]) -> dict[str, float]:
    """The weights of the enabled sources with weight > 0, scaled to sum to 1."""
    chosen = {s: float(weights.get(s, 0.0)) for s in sources if weights.get(s, 0.0) > 0}
    total = sum(chosen.values())
    if total <= 0:
        raise ValueError(f"no enabled source has a positive mix weight (sources: {list(sources)})")
    return {s: w / total for s, w in chosen.items()}


def plan_draws(
    unique_tokens: Mapping[str, int],
    weights: Mapping[str, float],
    total_tokens: int | None,
) -> dict[str, SourceDraw]:
    """Tokens to draw from each source (``weights`` normalized, one entry per mixed source)."""
    empty = sorted(s for s in weights if unique_tokens.get(s, 0) <= 0)
    if empty:
        raise ValueError(
            f"sources {empty} have a mix weight but no training tokens; "
            "give them weight 0 in [mix] weights or fix their ingest"
        )
    if total_tokens is None:
        total_tokens = int(min(math.floor(unique_tokens[s] / w) for s, w in weights.items()))
    if total_tokens <= 0:
        raise ValueError(f"token budget must be positive, got {total_tokens}")
    exact = {s: w * total_tokens for s, w in weights.items()}
    drawn = {s: int(math.floor(v)) for s, v in exact.items()}
    short = total_tokens - sum(drawn.values())
    for s in sorted(exact, key=lambda s: (drawn[s] - exact[s], s))[:short]:
        drawn[s] += 1
    return {s: SourceDraw(s, weights[s], int(unique_tokens[s]), drawn[s]) for s in sorted(weights)}


def draw_documents(
    sizes: np.ndarray, tokens: int, seed: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Documents (index, tokens taken) drawn from a source with these document sizes.

    Whole passes in a new random order each, then a partial pass; the last document of the
    partial pass is truncated (a prefix) so that exactly ``tokens`` tokens are taken.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    unique = int(sizes.sum())
    if tokens < 0 or (tokens > 0 and unique == 0):
        raise ValueError(f"{source}: cannot draw {tokens} tokens from {unique}")
    rng = np.random.default_rng(stable_seed(seed, "mix-draw", source))
    full_passes, remainder = divmod(tokens, unique) if unique else (0, 0)
    docs: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    for _ in range(full_passes):
        order = rng.permutation(sizes.size)
        docs.append(order)
        lengths.append(sizes[order])
    if remainder:
        order = rng.permutation(sizes.size)
        cumulative = np.cumsum(sizes[order])
        last = int(np.searchsorted(cumulative, remainder))  # first position reaching remainder
        take = order[: last + 1]
        taken = sizes[take].copy()
        taken[-1] -= int(cumulative[last]) - remainder
        docs.append(take)
        lengths.append(taken)
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(docs).astype(np.int64), np.concatenate(lengths).astype(np.int64)


@dataclass(frozen=True)
class BlendPlan:
    """The training stream: item ``i`` is the first ``length[i]`` tokens of document ``doc[i]``
    of source ``sources[source[i]]``. ``shard_starts`` cuts it into training shards."""

    sources: tuple[str, ...]
    source: np.ndarray  # uint8 index into sources
    doc: np.ndarray  # int64 document index within the source's training shards
    length: np.ndarray  # int64 tokens taken
    shard_starts: np.ndarray  # int64 item index where each shard starts, plus the end

    @property
    def num_shards(self) -> int:
        return int(self.shard_starts.size - 1)

    def shard_items(self, shard: int) -> slice:
        return slice(int(self.shard_starts[shard]), int(self.shard_starts[shard + 1]))

    def tokens_per_source(self) -> dict[str, int]:
        totals = np.bincount(self.source, weights=self.length, minlength=len(self.sources))
        return {name: int(totals[i]) for i, name in enumerate(self.sources)}


def plan_blend(
    doc_sizes: Mapping[str, np.ndarray],
    draws: Mapping[str, SourceDraw],
    seed: int,
    tokens_per_shard: int,
) -> BlendPlan:
    """Draw every source, shuffle all drawn documents together, cut into shards."""
    sources = tuple(sorted(draws))
    parts_source, parts_doc, parts_len = [], [], []
    for i, name in enumerate(sources):
        docs, lengths = draw_documents(doc_sizes[name], draws[name].drawn_tokens, seed, name)
        parts_source.append(np.full(docs.size, i, dtype=np.uint8))
        parts_doc.append(docs)
        parts_len.append(lengths)
    source = np.concatenate(parts_source) if parts_source else np.zeros(0, np.uint8)
    doc = np.concatenate(parts_doc) if parts_doc else np.zeros(0, np.int64)
    length = np.concatenate(parts_len) if parts_len else np.zeros(0, np.int64)
    order = np.random.default_rng(stable_seed(seed, "mix-shuffle")).permutation(source.size)
    source, doc, length = source[order], doc[order], length[order]
    return BlendPlan(sources, source, doc, length, shard_boundaries(length, tokens_per_shard))


def shard_boundaries(lengths: np.ndarray, tokens_per_shard: int) -> np.ndarray:
    """Item indexes starting each shard (and the end): a shard holds the items that start in
    its token range, so shards end at document boundaries."""
    total = int(lengths.sum())
    num_shards = max(1, math.ceil(total / tokens_per_shard))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if lengths.size else np.zeros(0)
    cuts = np.searchsorted(starts, np.arange(num_shards) * tokens_per_shard, side="left")
    # a document longer than a shard would leave the next range empty: drop empty shards
    cuts = np.unique(cuts)
    return np.concatenate([cuts, [lengths.size]]).astype(np.int64)
