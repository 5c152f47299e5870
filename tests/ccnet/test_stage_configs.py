"""The typed sub-stage configs: the digests of unchanged stages equal those of the plain dicts
they replace (run dirs stay valid), and each decision key sits in the decision step only."""

from __future__ import annotations

import dataclasses

import pytest

from llamapipe.config.sources.commoncrawl import CommonCrawlSourceConfig
from llamapipe.engine.fingerprint import digest
from llamapipe.engine.stage_config import config_dict
from llamapipe.sources.commoncrawl import (
    FILTERED_STAGE,
    FINAL_STAGE,
    HASHES_STAGE,
    MODELS_STAGE,
    build_stages_from_section,
)

#: Config digests the previous dict configs (`_stage_config(section, keys)`) gave these two
#: sections, computed with that code before it was replaced.
OLD_DIGESTS = {
    "default": {
        HASHES_STAGE: "3d07bee4d2147b29",
        MODELS_STAGE: "c892f9fb6c1e9cff",
        FINAL_STAGE: "1dd09519d370299d",
    },
    "custom": {
        HASHES_STAGE: "1fb13f5d5c4c729d",
        MODELS_STAGE: "a7f0e7b26ad386a2",
        FINAL_STAGE: "2f1d78bfed5c0771",
    },
}
SECTIONS = {
    "default": {"inputs": ["crawl/*.warc.wet.gz"]},
    "custom": {
        "inputs": ["a.wet.gz", "s3://b/c.wet.gz"],
        "group_size": 2,
        "cache_dir": "/c",
        "retries": 2,
        "lid_model": "/m/lid.bin",
        "lm": {
            "models_dir": "/lm",
            "cutoffs": {"en": [340.0, 520.0]},
            "percentiles": [25, 75],
            "order": 4,
        },
        "exact_dedup": False,
    },
}
DECISIONS = {
    "languages": ["en", "fr"],
    "lid_threshold": 0.8,
    "lm.keep_buckets": ["head"],
    "classifier.threshold": 0.6,
}


def _digests(section: CommonCrawlSourceConfig) -> dict[str, str]:
    return {s.name: digest(config_dict(s.config)) for s in build_stages_from_section(section)}


def _with(section: CommonCrawlSourceConfig, dotted: str, value: object):
    data = section.model_dump()
    head, _, tail = dotted.partition(".")
    if tail:
        data[head][tail] = value
    else:
        data[head] = value
    return CommonCrawlSourceConfig(**data)


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_unchanged_stages_keep_their_old_digests(name: str) -> None:
    digests = _digests(CommonCrawlSourceConfig(**SECTIONS[name]))
    assert {k: digests[k] for k in OLD_DIGESTS[name]} == OLD_DIGESTS[name]


@pytest.mark.parametrize("key", sorted(DECISIONS))
def test_a_decision_edit_changes_only_the_decision_step(key: str) -> None:
    base = CommonCrawlSourceConfig(
        inputs=["a.wet.gz"], lm={"languages": ["en", "fr"]}, classifier={"enabled": True}
    )
    before, after = _digests(base), _digests(_with(base, key, DECISIONS[key]))
    assert set(before) == set(after)
    assert [k for k in before if before[k] != after[k]] == [FILTERED_STAGE]


def test_scoring_keys_stay_out_of_the_decision_step() -> None:
    base = CommonCrawlSourceConfig(inputs=["a.wet.gz"])
    before = _digests(base)
    after = _digests(_with(base, "lm.cutoff_lid_threshold", 0.6))
    assert before[FILTERED_STAGE] == after[FILTERED_STAGE]
    assert before[MODELS_STAGE] != after[MODELS_STAGE]


def test_write_removed_off_keeps_digests_and_the_section_key_wins() -> None:
    section = CommonCrawlSourceConfig(inputs=["a.wet.gz"])
    plain = build_stages_from_section(section)
    on = build_stages_from_section(section, write_removed=True)
    assert [s.config.write_removed for s in on if hasattr(s.config, "write_removed")] == [
        True,
        True,
        True,
    ]
    assert all("write_removed" not in config_dict(s.config) for s in plain)
    off = build_stages_from_section(
        section.model_copy(update={"write_removed": False}), write_removed=True
    )
    assert [digest(config_dict(s.config)) for s in off] == [
        digest(config_dict(s.config)) for s in plain
    ]


def test_configs_are_frozen_and_kept_languages_need_a_model() -> None:
    spec = build_stages_from_section(CommonCrawlSourceConfig(inputs=["a.wet.gz"]))[-2]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.config.lid_threshold = 0.1  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"languages \['de'\] have no language model"):
        CommonCrawlSourceConfig(languages=["en", "de"], lm={"languages": ["en", "fr"]})


@pytest.mark.parametrize(
    ("global_flag", "own", "expected"),
    [(True, None, True), (True, False, False), (False, True, True), (False, None, False)],
)
def test_pipeline_write_removed_global_and_per_source(tmp_path, global_flag, own, expected) -> None:
    from llamapipe.config import config_from_dict
    from llamapipe.sources.commoncrawl import build_stages

    section = {"inputs": ["a.wet.gz"], **({} if own is None else {"write_removed": own})}
    cfg = config_from_dict(
        {"sources": {"write_removed": global_flag, "commoncrawl": section}},
        tmp_path,
        check_inputs=False,
    )
    flags = {
        s.name: s.config.write_removed
        for s in build_stages(cfg)
        if hasattr(s.config, "write_removed")
    }
    assert set(flags) == {"ingest/commoncrawl/scored", FILTERED_STAGE, FINAL_STAGE}
    assert set(flags.values()) == {expected}
