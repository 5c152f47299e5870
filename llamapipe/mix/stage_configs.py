"""Typed, frozen configs of the mix stages (index, tokenizer, encode, valid, blend;
llamapipe/tokenizer/stages.py builds them).

Each lists exactly the keys its shards read, so an edit to another key cannot make the stage
stale, and a misspelt key is an AttributeError where it is read rather than a silent default.
Their ``config_dict`` (llamapipe/engine/stage_config.py) is field for field the plain dict these
stages had before, so their digests, and existing run dirs, are unchanged: field names and
nesting must stay as they are (tests/tokenizer/test_stage_configs.py pins the digests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamapipe.engine.stage_config import StageConfig


@dataclass(frozen=True)
class SplitConfig(StageConfig):
    """The held-out split and cross-source dedup (``[mix]``; llamapipe/mix/selection.py)."""

    valid_fraction: float
    valid_min_documents: int
    valid_max_documents: int
    dedup_sources: tuple[str, ...]  # priority order, only the tokenized sources


@dataclass(frozen=True)
class EncodeConfig(StageConfig):
    """How documents become token ids (``[tokenizer]`` keys that do not change the model)."""

    vocab_size: int
    add_bos: bool
    add_eos: bool
    batch_documents: int
    threads: int


@dataclass(frozen=True)
class SpecialIds(StageConfig):
    """The tokenizer's special ids, written to tokens/manifest.json (-1: none)."""

    unk_id: int
    bos_id: int
    eos_id: int
    pad_id: int


@dataclass(frozen=True)
class IndexStageConfig(StageConfig):
    """``tokens/index``: per-document keys, then each source's split."""

    format: int
    sources: tuple[str, ...]
    seed: int
    split: SplitConfig


@dataclass(frozen=True)
class TokenizerStageConfig(StageConfig):
    """``tokenizer``: SentencePiece trained on a sample of the mixture.

    ``tokenizer`` is the ``[tokenizer]`` section minus the encode-only keys, as a dict: the
    stage rebuilds a TokenizerConfig from it, and every trainer key is part of the digest.
    """

    format: int
    sources: tuple[str, ...]
    weights: dict[str, float]  # normalized shares of the tokenized sources
    seed: int
    tokenizer: dict[str, Any]


@dataclass(frozen=True)
class EncodeStageConfig(StageConfig):
    """``tokens/sources/<source>``: one source's documents encoded, train and held out."""

    format: int
    source: str
    sources: tuple[str, ...]  # all tokenized sources: the split is decided across them
    seed: int
    encode: EncodeConfig


@dataclass(frozen=True)
class ValidStageConfig(StageConfig):
    """``tokens/valid``: the held-out shards and documents per source."""

    format: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class BlendStageConfig(StageConfig):
    """``tokens/train``: the Table 1 blend into training shards (llamapipe/mix/plan.py)."""

    format: int
    sources: tuple[str, ...]
    weights: dict[str, float]
    total_tokens: int | None  # None: the limiting source used exactly once
    tokens_per_train_shard: int
    seed: int
    encode: EncodeConfig
    special_ids: SpecialIds
