"""Typed stage configs of the non-CommonCrawl sources fingerprint like the dicts they replace.

The old dict of each stage is built here the way the sources built it (``model_dump`` minus a
hand-kept key set). Equal dicts mean equal digests, so existing run dirs stay complete; the
stages whose keys moved to a decision step (GitHub, C4 from WET) differ by exactly those keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llamapipe.config import PipelineConfig, config_from_dict
from llamapipe.engine.fingerprint import digest
from llamapipe.engine.stage_config import StageConfig, config_dict
from llamapipe.sources import source_stages

GITHUB_DECISION_KEYS = {
    "filter_quality",
    "max_line_length",
    "max_mean_line_length",
    "min_alnum_fraction",
    "min_alpha_per_token",
}


def _cfg(tmp_path: Path, from_wet: bool = False) -> PipelineConfig:
    sources: dict[str, Any] = {
        name: {"inputs": [str(tmp_path)]}
        for name in ("c4", "github", "wikipedia", "books", "arxiv", "stackexchange")
    }
    sources["commoncrawl"] = {"enabled": False}
    sources["c4"]["from_wet"] = from_wet
    return config_from_dict({"sources": sources}, tmp_path)


def _old_dicts(cfg: PipelineConfig) -> dict[str, dict[str, Any]]:
    """Each stage's config dict as the sources built it before typed configs."""
    s = cfg.sources
    old: dict[str, dict[str, Any]] = {}
    for name, own, publish, earlier in (
        (
            "wikipedia",
            s.wikipedia.model_dump(exclude={"enabled", "inputs"}),
            ["refs/{shard}.jsonl"],
            [],
        ),
        ("c4", s.c4.model_dump(exclude={"wet_rules", "enabled"}), [], []),
        (
            "books",
            {**s.books.model_dump(exclude={"enabled", "inputs"}), "minhash_seed": 1},
            ["removed_pairs.jsonl"],
            ["ingest/books/candidates"],
        ),
        ("arxiv", s.arxiv.model_dump(exclude={"enabled", "inputs"}), [], []),
        (
            "stackexchange",
            s.stackexchange.model_dump(exclude={"enabled", "inputs"}),
            [],
            ["ingest/stackexchange/sites"],
        ),
    ):
        own.pop("write_removed")
        docs = f"ingest/{name}/documents"
        first = "ingest/books/candidates" if name == "books" else docs
        old[first] = own
        old[f"ingest/{name}/keys"] = {"use_url": True, "documents_stage": docs}
        old[f"ingest/{name}/dedup"] = {"keys_stage": f"ingest/{name}/keys", "buckets": 8}
        dedup = {"publish": publish, "source_stages": [*earlier, docs]}
        old[f"ingest/{name}"] = {
            "documents_stage": docs,
            "dedup_stage": f"ingest/{name}/dedup",
            **dedup,
        }
    old["ingest/books/documents"] = {"containment_threshold": s.books.containment_threshold}
    se = s.stackexchange
    old["ingest/stackexchange/sites"] = {
        "rank_by": se.rank_by,
        "max_extract_bytes": se.max_extract_bytes,
        "work_dir": se.work_dir,
        "max_sites": se.max_sites,
    }
    github = s.github.model_dump()
    github.pop("inputs"), github.pop("enabled"), github.pop("write_removed")
    old["ingest/github/candidates"] = github
    old["ingest/github/dedup"] = {"keys_stage": "ingest/github/candidates", "buckets": 16}
    old["ingest/github"] = {
        "candidates_stage": "ingest/github/candidates",
        "dedup_stage": "ingest/github/dedup",
    }
    return old


def test_every_stage_digest_equals_its_old_dict(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    old = _old_dicts(cfg)
    stages = {s.name: s for s in source_stages(cfg)}
    assert set(stages) == set(old)
    for name, spec in stages.items():
        assert isinstance(spec.config, StageConfig), name
        new = config_dict(spec.config)
        if name == "ingest/github/candidates":  # the cuts moved to ingest/github
            assert set(old[name]) - set(new) == GITHUB_DECISION_KEYS | {"dedup_buckets"}
            assert new == {k: v for k, v in old[name].items() if k in new}
        elif name == "ingest/github":
            assert new == {
                **old[name],
                **{k: old["ingest/github/candidates"][k] for k in GITHUB_DECISION_KEYS},
            }
        else:
            assert new == old[name], name
            assert digest(new) == digest(old[name]), name


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("ingest/c4/candidates", "rules"),
        ("ingest/c4/decision", {"language": "en", "min_language_score": 0.99}),
        ("ingest/c4/dedup", {"keys_stage": "ingest/c4/decision", "buckets": 16}),
        ("ingest/c4", {"span_sentences": 3, "min_sentences": 5, "dedup_spans": True}),
    ],
)
def test_c4_from_wet_stage_configs(tmp_path: Path, stage: str, expected: Any) -> None:
    cfg = _cfg(tmp_path, from_wet=True)
    spec = {s.name: s for s in source_stages(cfg, ["c4"])}[stage]
    new = config_dict(spec.config)
    if expected == "rules":
        # the old dict minus the decision keys (and the dedup stage's bucket count)
        old = cfg.sources.c4.wet_rules.model_dump()
        old.update(inputs=list(cfg.sources.c4.inputs), files_per_shard=1)
        moved = {"language", "min_language_score", "dedup_buckets"}
        expected = {k: v for k, v in old.items() if k not in moved}
    assert new == expected
