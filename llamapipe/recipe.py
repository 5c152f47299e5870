"""The data recipe's and the cost model's paper numbers, each defined once (Touvron et al. 2023,
arXiv 2302.13971, and CCNet/RedPajama).

The config defaults that come from the recipe (llamapipe/config/) and the text tools
(llamapipe/text/) import them from here, so a reader can check the data side of the reproduction
against the paper in one file. The model and optimisation numbers of Table 2 and sections
2.2-2.3 are defined once where they are used: the model sizes in llamapipe/model/presets.py, the
architecture defaults in llamapipe/model/args.py, AdamW and the schedule in
llamapipe/config/train.py.
"""

from __future__ import annotations

# --- Table 1: pre-training data mixture ---
# Each source's share and epochs sit in its entry of the source registry
# (llamapipe/sources/__init__.py, SOURCES), next to everything else about the source.

# --- Section 2.1: Wikipedia languages (June-August 2022 dumps) ---
WIKIPEDIA_LANGUAGES: tuple[str, ...] = (
    "bg", "ca", "cs", "da", "de", "en", "es", "fr", "hr", "hu",
    "it", "nl", "pl", "pt", "ro", "ru", "sl", "sr", "sv", "uk",
)  # fmt: skip

# --- CCNet (Wenzek et al. 2020) and RedPajama constants ---
#: CCNet: documents shorter than this (characters of content, before dedup) are dropped.
CCNET_MIN_DOC_LENGTH = 300
#: CCNet: WET shards whose line hashes form one dedup set.
CCNET_DEDUP_GROUP_SHARDS = 50
#: CCNet: fastText language-id threshold on the rounded top score.
CCNET_LID_THRESHOLD = 0.5
#: CCNet: perplexity buckets, head < p30 <= middle < p60 <= tail.
CCNET_PERPLEXITY_PERCENTILES = (30.0, 60.0)
#: CCNet: English perplexity cutoffs (p30, p60) with CCNet's own published English models.
CCNET_EN_CUTOFFS = (340.0, 520.0)
#: CCNet: KenLM order (`lmplz -o 5`).
CCNET_KENLM_ORDER = 5
#: RedPajama v1: keep pages with P(Wikipedia reference) >= 0.25.
REFERENCE_CLASSIFIER_THRESHOLD = 0.25

# --- Section 2.1: tokenizer ---
TOKENIZER_VOCAB_SIZE = 32000

# --- Table 15 and section 2.4: cost and carbon ---
#: GPU-hours, MWh and tCO2eq of the four LLaMA sizes.
TABLE15: dict[str, tuple[int, int, int]] = {
    "7b": (82_432, 36, 14),
    "13b": (135_168, 59, 23),
    "33b": (530_432, 233, 90),
    "65b": (1_022_362, 449, 173),
}
#: The 65B model processes ~380 tokens/s/GPU on A100-80GB.
PAPER_65B_TOKENS_PER_GPU_S = 380.0
#: Power usage effectiveness of the data center.
PUE = 1.1
#: tCO2eq per MWh: the US national average the paper uses.
CARBON_INTENSITY_T_PER_MWH = 0.385


_MOVED_TO_REGISTRY = ("TABLE1_SHARES", "TABLE1_EPOCHS", "SOURCE_ORDER")


def __getattr__(name: str) -> object:
    """The Table 1 tables and the build order, moved to the source registry, still importable
    from here (deprecated)."""
    if name in _MOVED_TO_REGISTRY:
        import warnings

        import llamapipe.sources as registry

        warnings.warn(
            f"llamapipe.recipe.{name} moved to llamapipe.sources.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
