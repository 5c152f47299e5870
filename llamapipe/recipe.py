"""The paper's numbers in one place (Touvron et al. 2023, arXiv 2302.13971, and CCNet/RedPajama).

Every default in pipeline.toml that comes from the recipe is read from here, so a reader can
check the reproduction against the paper in one file.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Table 1: pre-training data mixture (share of training tokens, %, epochs, disk size) ---
TABLE1_SHARES: dict[str, float] = {
    "commoncrawl": 67.0,
    "c4": 15.0,
    "github": 4.5,
    "wikipedia": 4.5,
    "books": 4.5,
    "arxiv": 2.5,
    "stackexchange": 2.0,
}
TABLE1_EPOCHS: dict[str, float] = {
    "commoncrawl": 1.10,
    "c4": 1.06,
    "github": 0.64,
    "wikipedia": 2.45,
    "books": 2.23,
    "arxiv": 1.06,
    "stackexchange": 1.03,
}
TABLE1_DISK: dict[str, str] = {
    "commoncrawl": "3.3 TB",
    "c4": "783 GB",
    "github": "328 GB",
    "wikipedia": "83 GB",
    "books": "85 GB",
    "arxiv": "92 GB",
    "stackexchange": "78 GB",
}
#: The order sources are built in: Wikipedia first, because CCNet's LM and reference classifier
#: are trained on its output.
SOURCE_ORDER: tuple[str, ...] = (
    "wikipedia",
    "commoncrawl",
    "c4",
    "github",
    "books",
    "arxiv",
    "stackexchange",
)

# --- Section 2.1: Wikipedia languages (June-August 2022 dumps) ---
WIKIPEDIA_LANGUAGES: tuple[str, ...] = (
    "bg", "ca", "cs", "da", "de", "en", "es", "fr", "hr", "hu",
    "it", "nl", "pl", "pt", "ro", "ru", "sl", "sr", "sv", "uk",
)  # fmt: skip

# --- CCNet (Wenzek et al. 2020) and RedPajama constants ---
CCNET_MIN_DOC_LENGTH = 300  # characters, documents shorter are dropped before dedup
CCNET_DEDUP_GROUP_SHARDS = 50  # shards whose line hashes form one dedup set
CCNET_LID_THRESHOLD = 0.5
CCNET_PERPLEXITY_PERCENTILES = (30, 60)  # head < p30 <= middle < p60 <= tail
CCNET_EN_CUTOFFS = (340.0, 520.0)  # CCNet's English p30/p60 with its own models
CCNET_KENLM_ORDER = 5
REFERENCE_CLASSIFIER_THRESHOLD = 0.25  # RedPajama's P(reference) cut

# --- Section 2.1: tokenizer ---
TOKENIZER_VOCAB_SIZE = 32000

# --- Sections 2.2 and 2.3, Table 2: model and optimisation ---


@dataclass(frozen=True)
class PaperModel:
    dim: int
    n_heads: int
    n_layers: int
    learning_rate: float
    batch_tokens: int
    train_tokens: int
    parameters: int


TABLE2: dict[str, PaperModel] = {
    "7b": PaperModel(4096, 32, 32, 3.0e-4, 4_000_000, 1_000_000_000_000, 6_738_415_616),
    "13b": PaperModel(5120, 40, 40, 3.0e-4, 4_000_000, 1_000_000_000_000, 13_015_864_320),
    "33b": PaperModel(6656, 52, 60, 1.5e-4, 4_000_000, 1_400_000_000_000, 32_528_943_616),
    "65b": PaperModel(8192, 64, 80, 1.5e-4, 4_000_000, 1_400_000_000_000, 65_285_660_672),
}
CONTEXT_LENGTH = 2048
RMSNORM_EPS = 1e-6
ROPE_THETA = 10000.0
FFN_MULTIPLE_OF = 256
ADAMW_BETAS = (0.9, 0.95)
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0
WARMUP_STEPS = 2000
FINAL_LR_FRACTION = 0.1  # cosine schedule ends at 10% of the peak

# --- Table 15: cost and carbon ---
TABLE15_GPU_HOURS = {"7b": 82_432, "13b": 135_168, "33b": 530_432, "65b": 1_022_362}
GPU_POWER_W = 400  # A100-80GB thermal design power used by the paper
PUE = 1.1
CARBON_INTENSITY_T_PER_MWH = 0.385  # US national average used by the paper
