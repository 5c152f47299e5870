"""The mix stages' typed configs (llamapipe/mix/stage_configs.py) fingerprint exactly like the
plain dicts they replaced, so run dirs built before them are not stale."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine.fingerprint import digest
from llamapipe.engine.stage_config import StageConfig, config_dict
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.stages import ENCODE_ONLY_FIELDS, FORMAT_VERSION, build_token_stages


def _dict_configs(mix: MixConfig, tok: TokenizerConfig, sources: list[str], seed: int) -> dict:
    """The stage configs as the plain dicts llamapipe built before the typed configs."""
    total = sum(mix.weights[s] for s in sources)
    weights = {s: mix.weights[s] / total for s in sorted(sources)}
    sources = sorted(sources)
    encode = {
        "vocab_size": tok.vocab_size,
        "add_bos": tok.add_bos,
        "add_eos": tok.add_eos,
        "batch_documents": tok.encode_batch_documents,
        "threads": tok.encode_threads,
    }
    split = {
        "valid_fraction": mix.valid_fraction,
        "valid_min_documents": mix.valid_min_documents,
        "valid_max_documents": mix.valid_max_documents,
        "dedup_sources": [s for s in mix.dedup_sources if s in sources],
    }
    configs = {
        layout.INDEX_STAGE: {
            "format": FORMAT_VERSION, "sources": sources, "seed": seed, "split": split,
        },
        layout.TOKENIZER_STAGE: {
            "format": FORMAT_VERSION, "sources": sources, "weights": weights, "seed": seed,
            "tokenizer": tok.model_dump(exclude=ENCODE_ONLY_FIELDS),
        },
        layout.VALID_STAGE: {"format": FORMAT_VERSION, "sources": sources},
        layout.TRAIN_STAGE: {
            "format": FORMAT_VERSION, "sources": sources, "weights": weights,
            "total_tokens": mix.total_tokens,
            "tokens_per_train_shard": mix.tokens_per_train_shard, "seed": seed,
            "encode": encode,
            "special_ids": {
                "unk_id": tok.unk_id, "bos_id": tok.bos_id, "eos_id": tok.eos_id,
                "pad_id": tok.pad_id,
            },
        },
    }  # fmt: skip
    for source in sources:
        configs[layout.source_stage(source)] = {
            "format": FORMAT_VERSION, "source": source, "sources": sources, "seed": seed,
            "encode": encode,
        }  # fmt: skip
    return configs


@pytest.mark.parametrize(
    "mix, tok",
    [
        (MixConfig(), TokenizerConfig()),
        (
            MixConfig(total_tokens=12_345, dedup_sources=["c4", "commoncrawl"], seed=3),
            TokenizerConfig(vocab_size=2000, add_eos=True, encode_threads=3),
        ),
    ],
)
def test_typed_configs_have_the_digests_of_the_old_dicts(mix, tok) -> None:
    sources = ["c4", "books", "commoncrawl"]
    stages = build_token_stages("/tmp/run", mix, tok, sources, 7)
    expected = _dict_configs(mix, tok, sources, 7)
    assert [s.name for s in stages] == list(
        dict.fromkeys(
            [layout.INDEX_STAGE, layout.TOKENIZER_STAGE]
            + [layout.source_stage(s) for s in sorted(sources)]
            + [layout.VALID_STAGE, layout.TRAIN_STAGE]
        )
    )
    for spec in stages:
        assert isinstance(spec.config, StageConfig), spec.name
        assert config_dict(spec.config) == expected[spec.name], spec.name
        assert digest(config_dict(spec.config)) == digest(expected[spec.name]), spec.name
        assert pickle.loads(pickle.dumps(spec.config)) == spec.config
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.config.seed = 8  # type: ignore[misc]
