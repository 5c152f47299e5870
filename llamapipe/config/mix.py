"""The ``[mix]`` section: how the sources are blended into the training token stream.

Shares are of *training tokens* (LLaMA paper, Table 1), measured after tokenization, so the
realized shares are exact rather than estimated from bytes.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from llamapipe.config.base import StrictModel
from llamapipe.sources import TABLE1_SHARES

#: The sources llamapipe ingests, in the paper's Table 1 order (the source registry's).
SOURCES: tuple[str, ...] = tuple(TABLE1_SHARES)


class MixConfig(StrictModel):
    """``[mix]``: target shares, token budget, held-out split, cross-source dedup, shard size."""

    weights: dict[str, float] = Field(
        default_factory=lambda: dict(TABLE1_SHARES),
        description="Relative share of training tokens per source (normalized to sum 1).",
    )
    total_tokens: int | None = Field(
        default=None,
        description=(
            "Training tokens to draw in total. None: use the limiting source exactly once "
            "(the one with the fewest unique tokens per unit of weight) and size the rest to it."
        ),
    )
    valid_fraction: float = Field(
        default=0.01, ge=0.0, lt=0.5, description="Share of each source's documents held out."
    )
    valid_min_documents: int = Field(
        default=1, ge=0, description="Held-out documents per source at least (if it has 2+)."
    )
    valid_max_documents: int = Field(
        default=10_000, ge=0, description="Held-out documents per source at most."
    )
    dedup_sources: list[str] = Field(
        default_factory=lambda: ["commoncrawl", "c4"],
        description=(
            "Sources drawn from the same crawl, in priority order: a document of a later one "
            "whose URL or exact text matches a document of an earlier one is dropped."
        ),
    )
    tokens_per_train_shard: int = Field(
        default=100_000_000, gt=0, description="Target size of each blended training shard."
    )
    seed: int | None = Field(
        default=None, description="Seed of the split, sampling and shuffles; None: the run's."
    )

    @field_validator("weights")
    @classmethod
    def _known_positive_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {list(SOURCES)}")
        negative = sorted(name for name, w in weights.items() if w < 0)
        if negative:
            raise ValueError(f"weights must be >= 0, negative for {negative}")
        if not any(w > 0 for w in weights.values()):
            raise ValueError("at least one source needs a positive weight")
        return weights

    @field_validator("dedup_sources")
    @classmethod
    def _known_dedup_sources(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {list(SOURCES)}")
        return names

    @model_validator(mode="after")
    def _valid_bounds(self) -> MixConfig:
        if self.valid_min_documents > self.valid_max_documents:
            raise ValueError("valid_min_documents must be <= valid_max_documents")
        return self
