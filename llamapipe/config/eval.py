"""The [eval] section: evaluation tasks and held-out perplexity, plus [eval.generate] sampling
defaults and [eval.export] Hugging Face export settings.

Example::

    [eval]
    batch_size = 8
    perplexity_max_tokens = 100000

    [[eval.tasks]]
    name = "arc_easy"
    path = "data/eval/arc_easy.jsonl"   # relative to pipeline.toml's folder
    few_shot = 0

    [eval.generate]
    temperature = 0.8
    top_p = 0.95

    [eval.export]
    dtype = "float32"
    max_shard_size = "5GB"
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from llamapipe.config.base import StrictModel

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str | int) -> int:
    """'5GB' -> 5_000_000_000, '512MiB' -> 536_870_912, 1000 -> 1000 (bytes)."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"size {text!r}: expected a number with an optional unit, e.g. '5GB'")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").lower()])


class EvalTask(StrictModel):
    """One task file (JSONL; schema and kind autodetected, see evaluation/tasks.py and
    evaluation/task_schemas.py): multiple choice, WinoGrande, LAMBADA, QA, GSM8K, MATH, code."""

    name: str
    path: str
    few_shot: int = Field(0, ge=0)
    #: Text between prompt and choice; default " " (none when the prompt ends in whitespace).
    delimiter: str | None = None
    #: Score only the first N items (quick runs); None scores the whole file.
    limit: int | None = Field(None, ge=1)
    #: Also report acc_uncond: choices ranked by log P(choice | prompt) - log P(choice |
    #: "Answer:"), the paper's normalisation for OpenBookQA/BoolQ/ARC (one extra pass a choice).
    unconditional_norm: bool = False
    #: Generative tasks: tokens to generate; None: 32 (QA), 256 (GSM8K, code), 384 (MATH).
    max_new_tokens: int | None = Field(None, ge=1)
    #: Generative tasks: stop strings; None: the kind's (QA: newline, ".", ",").
    stop: list[str] | None = None
    #: Sampled generations per item: maj@k for GSM8K/MATH, n of pass@k for code (1 = greedy).
    samples: int = Field(1, ge=1)
    #: Sampling temperature when samples > 1 (None: 0.6 for maj@k, 0.8 for code).
    temperature: float | None = Field(None, gt=0)
    top_p: float = Field(0.95, gt=0, le=1)
    #: Code: the k of pass@k to report (each <= samples; pass@1 always).
    pass_at: list[int] = [1]
    #: Code: wall-clock seconds per program in the sandbox (CPU limit: the same, rounded up).
    timeout_s: float = Field(10.0, gt=0)
    #: Code: address-space limit of a program in the sandbox, MiB.
    memory_mib: int = Field(1024, ge=64)


class GenerateConfig(StrictModel):
    """Sampling defaults for `llamapipe generate` (also written to generation_config.json)."""

    temperature: float = Field(0.8, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_new_tokens: int = Field(128, ge=1)
    seed: int = 0
    #: Prompts sampled by `llamapipe run` for the report (and by `generate` without --prompt).
    prompts: list[str] = ["The meaning of life is", "Wikipedia is"]


class ExportConfig(StrictModel):
    """Hugging Face export: written to <run>/export/hf unless `out_dir` is given."""

    format: Literal["hf"] = "hf"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    #: Weights above this size are split into model-0000N-of-0000M.safetensors + an index.
    max_shard_size: str = "5GB"
    out_dir: str | None = None

    @field_validator("max_shard_size")
    @classmethod
    def _valid_size(cls, value: str) -> str:
        if parse_size(value) <= 0:
            raise ValueError("max_shard_size must be positive")
        return value

    @property
    def max_shard_bytes(self) -> int:
        return parse_size(self.max_shard_size)


class EvalConfig(StrictModel):
    tasks: list[EvalTask] = []
    #: Sequences scored per forward pass (multiple choice and perplexity windows).
    batch_size: int = Field(8, ge=1)
    #: Context for scoring; None uses the model's max_seq_len.
    max_seq_len: int | None = Field(None, ge=2)
    #: Held-out perplexity per source on <run>/tokens/valid/<source>/.
    perplexity: bool = True
    #: Window stride for perplexity; None = max_seq_len (disjoint windows).
    perplexity_stride: int | None = Field(None, ge=1)
    #: Tokens read per source for perplexity (a CPU run stays short); None reads all.
    perplexity_max_tokens: int | None = Field(20_000, ge=2)
    #: Seed of the few-shot example selection.
    few_shot_seed: int = 1234
    #: Stop at the first bad task record instead of counting and skipping it.
    strict: bool = False
    device: str = "cpu"
    generate: GenerateConfig = GenerateConfig()
    export: ExportConfig = ExportConfig()
