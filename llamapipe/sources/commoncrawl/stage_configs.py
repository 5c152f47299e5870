"""The typed config of each CommonCrawl sub-stage: exactly the keys its shards read.

A stage is stale when its config (or an upstream output) changes, so what a stage's config
holds decides what an edit re-runs. The scores (language id, perplexity and bucket, P(ref))
are computed by stages whose configs hold no keep/drop key; the decisions (`languages`,
`lid_threshold`, `lm.keep_buckets`, `classifier.threshold`) are all in `FilteredConfig`, the
cheap last step, so editing one re-runs only that step and the final exact dedup after it.

Field names and values of the hashes, models and final stages are those of the plain dicts
these classes replace, so their digests (and run dirs) stay valid (tests/ccnet/
test_stage_configs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.sources.commoncrawl.groups import DEDUP_FORMAT

if TYPE_CHECKING:
    from llamapipe.config.sources.commoncrawl import CommonCrawlSourceConfig


@dataclass(frozen=True, kw_only=True)
class WetStageConfig(StageConfig):
    """What reading the WET inputs needs (the hashes, models and scored stages read them)."""

    inputs: tuple[str, ...]
    min_length: int
    group_size: int
    cache_dir: str | None
    retries: int


@dataclass(frozen=True, kw_only=True)
class HashesConfig(WetStageConfig):
    #: Version of the hash files and the dedup rule (groups.py): in every later fingerprint.
    dedup_format: str = DEDUP_FORMAT


@dataclass(frozen=True, kw_only=True)
class ModelsLMConfig(StageConfig):
    """`lm.*` as the models stage reads it: not `keep_buckets` (a decision), not `languages` or
    `cutoff_lid_threshold` (they travel as `ModelsConfig.languages` / `.lid_threshold`)."""

    models_dir: str | None
    cutoffs: dict[str, tuple[float, float]] | None
    percentiles: tuple[float, float]
    perplexity_unit: str
    cutoff_sample_docs: int
    order: int
    sp_vocab_size: int
    max_train_docs: int | None
    lmplz_memory: str


@dataclass(frozen=True, kw_only=True)
class ModelsConfig(WetStageConfig):
    #: The languages that get a model (`lm.languages`, else `languages`).
    languages: tuple[str, ...]
    #: LID score a page needs to enter the cutoff sample (`lm.cutoff_lid_threshold`; named as
    #: the key this stage read before, so that run dirs with the default stay valid).
    lid_threshold: float
    lid_model: str | None
    lm: ModelsLMConfig


@dataclass(frozen=True, kw_only=True)
class ScoredConfig(WetStageConfig):
    """Paragraph dedup, language id of every deduplicated page, perplexity and bucket of the
    pages of a language with a model. No keep/drop key."""

    #: Languages whose models are loaded (the models stage's).
    languages: tuple[str, ...]
    lid_model: str | None
    write_removed: bool = added_key()


@dataclass(frozen=True, kw_only=True)
class ClassifierTrainingConfig(StageConfig):
    """The reference classifier's training set and fastText settings (no `threshold`)."""

    #: Languages of the crawl pages, the Wikipedia refs and the fallback articles it trains on.
    languages: tuple[str, ...]
    train_lid_threshold: float
    train_buckets: tuple[str, ...]
    min_ref_pages: int
    max_positives: int
    fallback_positives: str
    epoch: int
    lr: float
    word_ngrams: int
    dim: int
    bucket: int


@dataclass(frozen=True, kw_only=True)
class ClassifiedConfig(StageConfig):
    #: Pages of these languages (the ones with a perplexity) get P(reference).
    languages: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FilteredConfig(StageConfig):
    """The decision step: the keep/drop keys and nothing else (filters.py applies them)."""

    languages: tuple[str, ...]
    lid_threshold: float
    keep_buckets: tuple[str, ...]
    #: `classifier.threshold`; None when the classifier is disabled (no P(ref) to cut on).
    ref_threshold: float | None
    write_removed: bool = added_key()


@dataclass(frozen=True, kw_only=True)
class FinalConfig(StageConfig):
    exact_dedup: bool
    write_removed: bool = added_key()


@dataclass(frozen=True)
class CommonCrawlStageConfigs:
    """The configs of all sub-stages of one `[sources.commoncrawl]` section."""

    hashes: HashesConfig
    models: ModelsConfig
    scored: ScoredConfig
    training: ClassifierTrainingConfig | None
    classified: ClassifiedConfig | None
    filtered: FilteredConfig
    final: FinalConfig = field(default_factory=lambda: FinalConfig(exact_dedup=True))


def _wet_fields(section: CommonCrawlSourceConfig) -> dict:
    return {
        "inputs": tuple(section.inputs),
        "min_length": section.min_length,
        "group_size": section.group_size,
        "cache_dir": section.cache_dir,
        "retries": section.retries,
    }


def stage_configs(
    section: CommonCrawlSourceConfig, write_removed: bool = False
) -> CommonCrawlStageConfigs:
    """Split a section into its sub-stages' configs. `write_removed`: the resolved flag (the
    section's, else the global `[sources] write_removed`)."""
    wet = _wet_fields(section)
    lm = section.lm
    scored_languages = tuple(section.scored_languages)
    models = ModelsConfig(
        **wet,
        languages=scored_languages,
        lid_threshold=lm.cutoff_lid_threshold,
        lid_model=section.lid_model,
        lm=ModelsLMConfig.from_section(
            lm,
            cutoffs=None if lm.cutoffs is None else {k: tuple(v) for k, v in lm.cutoffs.items()},
        ),
    )
    clf = section.classifier
    training = classified = None
    if clf.enabled:
        training = ClassifierTrainingConfig.from_section(clf, languages=scored_languages)
        classified = ClassifiedConfig(languages=scored_languages)
    return CommonCrawlStageConfigs(
        hashes=HashesConfig(**wet),
        models=models,
        scored=ScoredConfig(
            **wet,
            languages=scored_languages,
            lid_model=section.lid_model,
            write_removed=write_removed,
        ),
        training=training,
        classified=classified,
        filtered=FilteredConfig(
            languages=tuple(section.languages),
            lid_threshold=section.lid_threshold,
            keep_buckets=tuple(lm.keep_buckets),
            ref_threshold=clf.threshold if clf.enabled else None,
            write_removed=write_removed,
        ),
        final=FinalConfig(exact_dedup=section.exact_dedup, write_removed=write_removed),
    )
