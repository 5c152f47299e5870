"""CommonCrawl, CCNet-style: WET files -> deduplicated, English, low-perplexity, reference-like
pages (RECIPE.md "CommonCrawl, CCNet-style").

Sub-stages, each resumable on its own (run dir folders):

1. ``ingest/commoncrawl/hashes``  per WET shard: distinct line hashes + document counts, and
                                 per line its hash index (paragraph_dedup.py `index_shard`)
2. ``ccnet-models``              per language: SentencePiece + KenLM (trained on the Wikipedia
                                 stage's output, or supplied) and perplexity cutoffs
3. ``ingest/commoncrawl/filtered``  per shard: paragraph dedup against the shard's group (every
                                 page's result in dedup/), language id, perplexity and bucket
4. ``ingest/commoncrawl/classifier-model``  the fastText Wikipedia-reference classifier
5. ``ingest/commoncrawl/classified``  per shard: P(reference) >= threshold
6. ``ingest/commoncrawl``         exact document dedup across all dumps, first occurrence wins
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llamapipe.engine import ShardSpec, StageSpec
from llamapipe.sources.commoncrawl.classifier import (
    CLASSIFIER_MODEL_STAGE,
    process_classified,
    process_train_classifier,
)
from llamapipe.sources.commoncrawl.groups import DEDUP_FORMAT, HASHES_STAGE, wet_plan
from llamapipe.sources.commoncrawl.models import MODELS_STAGE, WIKIPEDIA_STAGE, process_models
from llamapipe.sources.commoncrawl.stages import (
    CLASSIFIED_STAGE,
    FILTERED_STAGE,
    FINAL_STAGE,
    finalize_first_occurrences,
    process_filtered,
    process_final,
    process_hashes,
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
    "build_stages",
    "build_stages_from_section",
]


def _stage_config(section: CommonCrawlSourceConfig, keys: set[str] | None = None) -> dict[str, Any]:
    data = section.model_dump(mode="json", exclude={"enabled"})
    if keys is not None:
        data = {k: v for k, v in data.items() if k in keys}
    return data


def build_stages_from_section(section: CommonCrawlSourceConfig) -> list[StageSpec]:
    """The six sub-stages for one `[sources.commoncrawl]` section (tests call this directly)."""
    wet_keys = {"inputs", "min_length", "group_size", "cache_dir", "retries"}
    # The dedup format/rule version travels in the first stage's config, hence (through the
    # upstream digests) in every later stage's fingerprint: old run dirs are rebuilt.
    hashes_cfg = {**_stage_config(section, wet_keys), "dedup_format": DEDUP_FORMAT}
    filtered_cfg = _stage_config(
        section, wet_keys | {"languages", "lid_threshold", "lid_model", "lm"}
    )
    # Which buckets are kept does not change the models or the cutoffs: not in their config.
    models_cfg = {
        **filtered_cfg,
        "lm": {k: v for k, v in filtered_cfg["lm"].items() if k != "keep_buckets"},
    }
    # Each stage's config holds only the keys it reads: changing the classifier threshold must
    # not redo the dedup/LID/LM pass. Upstream changes still propagate through the upstream
    # manifests' digests.
    classifier_cfg = _stage_config(
        section, wet_keys | {"languages", "lid_threshold", "lid_model", "lm", "classifier"}
    )
    training_cfg = {
        **classifier_cfg,
        "classifier": {k: v for k, v in classifier_cfg["classifier"].items() if k != "threshold"},
    }
    final_cfg = _stage_config(section, {"exact_dedup"})
    trains_lm = section.lm.models_dir is None

    def per_shard_plan() -> list[ShardSpec]:
        return [ShardSpec(index=s.index, params={"wet": s.inputs[0]}) for s in wet_plan(hashes_cfg)]

    stages = [
        StageSpec(
            name=HASHES_STAGE,
            config=hashes_cfg,
            plan=lambda: wet_plan(hashes_cfg),
            process=process_hashes,
            description="WET -> per-shard sorted line hashes (CCNet paragraph dedup, pass 1)",
        ),
        StageSpec(
            name=MODELS_STAGE,
            config=models_cfg,
            plan=lambda: [
                ShardSpec(index=i, params={"language": lang})
                for i, lang in enumerate(section.languages)
            ],
            process=process_models,
            upstream=[HASHES_STAGE, *([WIKIPEDIA_STAGE] if trains_lm else [])],
            description="per-language SentencePiece + KenLM and perplexity cutoffs",
        ),
        StageSpec(
            name=FILTERED_STAGE,
            config=filtered_cfg,
            plan=lambda: wet_plan(hashes_cfg),
            process=process_filtered,
            upstream=[HASHES_STAGE, MODELS_STAGE],
            description="paragraph dedup, language id, perplexity buckets",
        ),
    ]
    classified_upstream = [FILTERED_STAGE]
    if section.classifier.enabled:
        stages.append(
            StageSpec(
                name=CLASSIFIER_MODEL_STAGE,
                config=training_cfg,
                plan=lambda: [ShardSpec(index=0)],
                process=process_train_classifier,
                upstream=[FILTERED_STAGE, WIKIPEDIA_STAGE],
                description="fastText Wikipedia-reference classifier",
            )
        )
        classified_upstream.append(CLASSIFIER_MODEL_STAGE)
    stages += [
        StageSpec(
            name=CLASSIFIED_STAGE,
            config=classifier_cfg,
            plan=per_shard_plan,
            process=process_classified,
            upstream=classified_upstream,
            finalize=finalize_first_occurrences,
            description="keep pages with P(Wikipedia reference) >= threshold",
        ),
        StageSpec(
            name=FINAL_STAGE,
            config=final_cfg,
            plan=per_shard_plan,
            process=process_final,
            upstream=[CLASSIFIED_STAGE],
            description="exact document dedup across dumps (first occurrence wins)",
        ),
    ]
    return stages


def build_stages(cfg: PipelineConfig) -> list[StageSpec]:
    return build_stages_from_section(cfg.sources.commoncrawl)
