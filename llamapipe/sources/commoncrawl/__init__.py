"""CommonCrawl, CCNet-style: WET files -> deduplicated, English, low-perplexity, reference-like
pages (RECIPE.md "CommonCrawl, CCNet-style").

Sub-stages, each resumable on its own (run dir folders). The scores are computed once and
stored per page (stages 3 and 5); the keep/drop decisions are one cheap step (6), whose config
holds only them (stage_configs.py), so editing a threshold re-runs only 6 and 7:

1. ``ingest/commoncrawl/hashes``  per WET shard: distinct line hashes + document counts, and
                                 per line its hash index (paragraph_dedup.py `index_shard`)
2. ``ccnet-models``              per language: SentencePiece + KenLM (trained on the Wikipedia
                                 stage's output, or supplied) and perplexity cutoffs
3. ``ingest/commoncrawl/scored``  per shard: paragraph dedup against the shard's group (every
                                 page's result in dedup/), then every page that keeps a line
                                 with its language and score, perplexity and bucket
4. ``ingest/commoncrawl/classifier-model``  the fastText Wikipedia-reference classifier
5. ``ingest/commoncrawl/classified``  per shard: P(reference) of each scored page (attributes/)
6. ``ingest/commoncrawl/filtered``  per shard: the decisions (filters.py): LID score, language,
                                 bucket, P(reference) >= threshold
7. ``ingest/commoncrawl``         exact document dedup across all dumps, first occurrence wins
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llamapipe.engine import ShardSpec, StageSpec
from llamapipe.sources.commoncrawl.classifier import (
    CLASSIFIER_MODEL_STAGE,
    process_classified,
    process_train_classifier,
)
from llamapipe.sources.commoncrawl.groups import HASHES_STAGE, wet_plan
from llamapipe.sources.commoncrawl.models import MODELS_STAGE, WIKIPEDIA_STAGE, process_models
from llamapipe.sources.commoncrawl.stage_configs import CommonCrawlStageConfigs, stage_configs
from llamapipe.sources.commoncrawl.stages import (
    CLASSIFIED_STAGE,
    FILTERED_STAGE,
    FINAL_STAGE,
    SCORED_STAGE,
    finalize_first_occurrences,
    process_filtered,
    process_final,
    process_hashes,
    process_scored,
)

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig
    from llamapipe.config.sources.commoncrawl import CommonCrawlSourceConfig

__all__ = [
    "CLASSIFIED_STAGE",
    "CLASSIFIER_MODEL_STAGE",
    "FILTERED_STAGE",
    "FINAL_STAGE",
    "HASHES_STAGE",
    "MODELS_STAGE",
    "SCORED_STAGE",
    "build_stages",
    "build_stages_from_section",
]


def build_stages_from_section(
    section: CommonCrawlSourceConfig, write_removed: bool = False
) -> list[StageSpec]:
    """The sub-stages for one `[sources.commoncrawl]` section (tests call this directly);
    `write_removed`: the global `[sources] write_removed`, used when the section sets none."""
    if section.write_removed is not None:
        write_removed = section.write_removed
    cfgs = stage_configs(section, write_removed)

    def per_shard_plan() -> list[ShardSpec]:
        return [
            ShardSpec(index=s.index, params={"wet": s.inputs[0]}) for s in wet_plan(cfgs.hashes)
        ]

    stages = _scoring_stages(cfgs, trains_lm=section.lm.models_dir is None)
    stages += _classifier_stages(cfgs, per_shard_plan)
    upstream = [SCORED_STAGE, *([CLASSIFIED_STAGE] if cfgs.classified is not None else [])]
    return stages + _decision_stages(cfgs, upstream, per_shard_plan)


def _scoring_stages(cfgs: CommonCrawlStageConfigs, trains_lm: bool) -> list[StageSpec]:
    """Line hashes, the language models, and the per-page scores (dedup, LID, perplexity)."""
    return [
        StageSpec(
            name=HASHES_STAGE,
            config=cfgs.hashes,
            plan=lambda: wet_plan(cfgs.hashes),
            process=process_hashes,
            description="WET -> per-shard sorted line hashes (CCNet paragraph dedup, pass 1)",
        ),
        StageSpec(
            name=MODELS_STAGE,
            config=cfgs.models,
            plan=lambda: [
                ShardSpec(index=i, params={"language": lang})
                for i, lang in enumerate(cfgs.models.languages)
            ],
            process=process_models,
            upstream=[HASHES_STAGE, *([WIKIPEDIA_STAGE] if trains_lm else [])],
            description="per-language SentencePiece + KenLM and perplexity cutoffs",
        ),
        StageSpec(
            name=SCORED_STAGE,
            config=cfgs.scored,
            plan=lambda: wet_plan(cfgs.hashes),
            process=process_scored,
            upstream=[HASHES_STAGE, MODELS_STAGE],
            description="paragraph dedup, language id, perplexity and bucket of every page",
        ),
    ]


def _classifier_stages(
    cfgs: CommonCrawlStageConfigs, per_shard_plan: Callable[[], list[ShardSpec]]
) -> list[StageSpec]:
    """The reference classifier and P(reference) of every scored page (none when disabled)."""
    if cfgs.training is None or cfgs.classified is None:
        return []
    return [
        StageSpec(
            name=CLASSIFIER_MODEL_STAGE,
            config=cfgs.training,
            plan=lambda: [ShardSpec(index=0)],
            process=process_train_classifier,
            upstream=[SCORED_STAGE, WIKIPEDIA_STAGE],
            description="fastText Wikipedia-reference classifier",
        ),
        StageSpec(
            name=CLASSIFIED_STAGE,
            config=cfgs.classified,
            plan=per_shard_plan,
            process=process_classified,
            upstream=[SCORED_STAGE, CLASSIFIER_MODEL_STAGE],
            description="P(Wikipedia reference) of every scored page",
        ),
    ]


def _decision_stages(
    cfgs: CommonCrawlStageConfigs,
    upstream: list[str],
    per_shard_plan: Callable[[], list[ShardSpec]],
) -> list[StageSpec]:
    """The keep/drop decisions on the stored scores, then the exact document dedup."""
    return [
        StageSpec(
            name=FILTERED_STAGE,
            config=cfgs.filtered,
            plan=per_shard_plan,
            process=process_filtered,
            upstream=upstream,
            finalize=finalize_first_occurrences,
            description="the decisions: LID score, language, perplexity bucket, P(reference)",
        ),
        StageSpec(
            name=FINAL_STAGE,
            config=cfgs.final,
            plan=per_shard_plan,
            process=process_final,
            upstream=[FILTERED_STAGE],
            description="exact document dedup across dumps (first occurrence wins)",
        ),
    ]


def build_stages(cfg: PipelineConfig) -> list[StageSpec]:
    from llamapipe.config import write_removed_for

    return build_stages_from_section(cfg.sources.commoncrawl, write_removed_for(cfg, "commoncrawl"))
