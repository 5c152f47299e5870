"""The engine stages that turn the sources' document shards into the training token stream.

In order (each after the previous; paths in ``layout``):

1. ``tokens/index`` — one shard per ingest shard: per-document keys (seeded id hashes, bytes,
   URL and text hashes); its finalize decides each source's held-out split and cross-source
   duplicates once (``llamapipe.mix.selection``) into a small file every later worker loads.
2. ``tokenizer`` — one shard: SentencePiece BPE trained on a sample of the training documents
   proportional to the mix weights (``llamapipe.tokenizer.train``).
3. ``tokens/sources/<source>`` — one shard per ingest shard: encode training and held-out
   documents into token shards (BOS per document, EOS if configured), keep held-out documents.
4. ``tokens/valid`` — per source, the held-out token shards and documents where eval reads them.
5. ``tokens/train`` — the blend: tokens drawn per source to the target shares (exact counts,
   ``llamapipe.mix.plan``), shuffled across sources, written as training shards; its finalize
   writes ``tokens/manifest.json``.

One module per stage: ``index_stage``, ``train_stage``, ``encode_stage``, ``valid_stage`` and
``blend_stage``; this one assembles them.

Every shard is a pure function of its inputs and the seed, so a killed stage resumes to
byte-identical output.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import StageSpec
from llamapipe.errors import ConfigError
from llamapipe.mix.plan import normalized_weights
from llamapipe.mix.stage_configs import (
    BlendStageConfig,
    EncodeConfig,
    EncodeStageConfig,
    IndexStageConfig,
    SpecialIds,
    SplitConfig,
    TokenizerStageConfig,
    ValidStageConfig,
)
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.blend_stage import blend_shard, plan_train, write_tokens_manifest
from llamapipe.tokenizer.encode_stage import encode_source_shard
from llamapipe.tokenizer.index_stage import index_shard, plan_ingest_shards, write_splits
from llamapipe.tokenizer.train_stage import (
    plan_tokenizer,
    read_selected_texts,
    train_tokenizer_shard,
)
from llamapipe.tokenizer.valid_stage import copy_valid_shard, plan_valid

#: ``read_selected_texts`` is imported from here by tests/tokenizer/test_tokenizer.py.
__all__ = ["build_stages", "build_token_stages", "read_selected_texts"]

#: Bump when the on-disk output of a stage changes meaning, so old runs become stale.
FORMAT_VERSION = 2  # 2: text keys of normalised text; held-out documents have no twin

#: TokenizerConfig fields that affect encoding only, not the trained model: changing them must
#: not make the tokenizer stage stale.
ENCODE_ONLY_FIELDS = {"add_bos", "add_eos", "encode_batch_documents", "encode_threads"}


def build_stages(cfg: Any) -> list[StageSpec]:
    """The tokenizer, encode and blend stages for a PipelineConfig (enabled sources, weight > 0)."""
    enabled = cfg.sources.enabled()
    sources = [s for s in enabled if cfg.mix.weights.get(s, 0.0) > 0]
    seed = cfg.mix.seed if cfg.mix.seed is not None else cfg.run.seed
    return build_token_stages(cfg.run_dir, cfg.mix, cfg.tokenizer, sources, seed)


def build_token_stages(
    run_dir: Path | str,
    mix: MixConfig,
    tokenizer: TokenizerConfig,
    sources: list[str],
    seed: int,
) -> list[StageSpec]:
    """The five stages for these sources (their ingest stages must be complete to run them)."""
    run_dir = Path(run_dir)
    if not sources:
        raise ConfigError("no source to tokenize: enable a source with a positive [mix] weight")
    weights = normalized_weights(mix.weights, sources)
    sources = sorted(weights)  # one canonical order for every stage
    encode = EncodeConfig(
        vocab_size=tokenizer.vocab_size,
        add_bos=tokenizer.add_bos,
        add_eos=tokenizer.add_eos,
        batch_documents=tokenizer.encode_batch_documents,
        threads=tokenizer.encode_threads,
    )
    return [
        _index_stage(run_dir, mix, sources, seed),
        _tokenizer_stage(run_dir, tokenizer, sources, weights, seed),
        *(_encode_stage(run_dir, source, sources, seed, encode) for source in sources),
        _valid_stage(run_dir, sources),
        _blend_stage(run_dir, mix, tokenizer, sources, weights, seed, encode),
    ]


def _index_stage(run_dir: Path, mix: MixConfig, sources: list[str], seed: int) -> StageSpec:
    split = SplitConfig(
        valid_fraction=mix.valid_fraction,
        valid_min_documents=mix.valid_min_documents,
        valid_max_documents=mix.valid_max_documents,
        dedup_sources=tuple(s for s in mix.dedup_sources if s in sources),
    )
    return StageSpec(
        name=layout.INDEX_STAGE,
        config=IndexStageConfig(FORMAT_VERSION, tuple(sources), seed, split),
        plan=functools.partial(plan_ingest_shards, run_dir, sources),
        process=index_shard,
        upstream=[layout.ingest_stage(s) for s in sources],
        finalize=write_splits,
        description="per-document keys for the held-out split and cross-source dedup",
    )


def _tokenizer_stage(
    run_dir: Path,
    tokenizer: TokenizerConfig,
    sources: list[str],
    weights: dict[str, float],
    seed: int,
) -> StageSpec:
    return StageSpec(
        name=layout.TOKENIZER_STAGE,
        config=TokenizerStageConfig(
            format=FORMAT_VERSION,
            sources=tuple(sources),
            weights=weights,
            seed=seed,
            tokenizer=tokenizer.model_dump(exclude=ENCODE_ONLY_FIELDS),
        ),
        plan=functools.partial(plan_tokenizer, run_dir, sources),
        process=train_tokenizer_shard,
        upstream=[layout.INDEX_STAGE],
        description="SentencePiece BPE trained on a sample of the mixture",
    )


def _encode_stage(
    run_dir: Path, source: str, sources: list[str], seed: int, encode: EncodeConfig
) -> StageSpec:
    return StageSpec(
        name=layout.source_stage(source),
        config=EncodeStageConfig(FORMAT_VERSION, source, tuple(sources), seed, encode),
        plan=functools.partial(plan_ingest_shards, run_dir, [source]),
        process=encode_source_shard,
        upstream=[layout.INDEX_STAGE, layout.TOKENIZER_STAGE],
        description=f"encode {source} into training and held-out token shards",
    )


def _valid_stage(run_dir: Path, sources: list[str]) -> StageSpec:
    return StageSpec(
        name=layout.VALID_STAGE,
        config=ValidStageConfig(FORMAT_VERSION, tuple(sources)),
        plan=functools.partial(plan_valid, run_dir, sources),
        process=copy_valid_shard,
        upstream=[layout.source_stage(s) for s in sources],
        description="held-out token shards and documents per source",
    )


def _blend_stage(
    run_dir: Path,
    mix: MixConfig,
    tokenizer: TokenizerConfig,
    sources: list[str],
    weights: dict[str, float],
    seed: int,
    encode: EncodeConfig,
) -> StageSpec:
    config = BlendStageConfig(
        format=FORMAT_VERSION,
        sources=tuple(sources),
        weights=weights,
        total_tokens=mix.total_tokens,
        tokens_per_train_shard=mix.tokens_per_train_shard,
        seed=seed,
        encode=encode,
        special_ids=SpecialIds(
            unk_id=tokenizer.unk_id,
            bos_id=tokenizer.bos_id,
            eos_id=tokenizer.eos_id,
            pad_id=tokenizer.pad_id,
        ),
    )
    return StageSpec(
        name=layout.TRAIN_STAGE,
        config=config,
        plan=functools.partial(plan_train, run_dir, config),
        process=blend_shard,
        upstream=[layout.source_stage(s) for s in sources] + [layout.VALID_STAGE],
        finalize=write_tokens_manifest,
        description="blend the sources to the target shares, shuffled, into training shards",
    )
