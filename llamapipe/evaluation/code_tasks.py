"""HumanEval-style code generation scored by running the tests: pass@k (paper Table 8).

The prompt is the record's ``prompt`` (signature + docstring). Each completion is generated
until the function's body ends, i.e. at the first line that starts a new top-level statement
(Codex's stop sequences: "\\ndef", "\\nclass", "\\nif", "\\nprint", "\\n#"), then
``prompt + completion + test + check(entry_point)`` runs in the sandbox (sandbox.py) and passes
if the tests do.

pass@k uses the unbiased estimator of Chen et al. (2021): with n samples of which c pass,
pass@k = 1 - C(n - c, k) / C(n, k), averaged over problems. n = 1 (greedy) gives pass@1 only;
the paper samples with temperature 0.1 for pass@1 and 0.8 for pass@100.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from llamapipe.evaluation.generate import SamplingParams, TextCodec
from llamapipe.evaluation.generative import GoldScorer, generate_texts, gold_logprob_per_token
from llamapipe.evaluation.sandbox import SandboxLimits, launcher, run_program
from llamapipe.evaluation.task_schemas import CodeItem
from llamapipe.model.args import ModelArgs

CODE_STOPS = ("\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem: 1 - C(n-c, k) / C(n, k), as a stable product."""
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def program_for(item: CodeItem, completion: str) -> str:
    """The file the sandbox runs: the completed function, its tests, and the call to them."""
    return f"{item.prompt}{completion}\n\n{item.test}\n\ncheck({item.entry_point})\n"


def run_completions(
    items: Sequence[CodeItem],
    completions: Sequence[Sequence[str]],
    limits: SandboxLimits,
    workers: int = 2,
) -> list[list[bool]]:
    """Run every completion of every item in the sandbox; pass/fail per completion."""
    jobs = [
        (i, j, program_for(item, completion))
        for i, (item, row) in enumerate(zip(items, completions, strict=True))
        for j, completion in enumerate(row)
    ]
    passed = [[False] * len(row) for row in completions]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda job: run_program(job[2], limits).passed, jobs)
        for (i, j, _), ok in zip(jobs, results, strict=True):
            passed[i][j] = ok
    return passed


def evaluate_code(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: TextCodec,
    items: list[CodeItem],
    *,
    samples: int = 1,
    ks: Sequence[int] = (1,),
    temperature: float = 0.8,
    top_p: float = 0.95,
    max_new_tokens: int = 256,
    seed: int = 0,
    batch_size: int = 8,
    limits: SandboxLimits | None = None,
    device: str | torch.device = "cpu",
    score_gold: GoldScorer | None = None,
) -> dict[str, Any]:
    """Generate ``samples`` completions per problem (greedy when 1), run them, pass@k."""
    if samples == 1:
        params = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=max_new_tokens)
    else:
        params = SamplingParams(temperature, top_p, max_new_tokens, seed)
    prompts = [item.prompt for item in items for _ in range(samples)]
    texts = generate_texts(
        model,
        args,
        encoder,
        prompts,
        params,
        CODE_STOPS,
        seeds=[seed * 1_000_003 + i for i in range(len(prompts))],
        batch_size=batch_size,
        device=device,
    )
    completions = [texts[i * samples : (i + 1) * samples] for i in range(len(items))]
    passed = run_completions(items, completions, limits or SandboxLimits())
    result: dict[str, Any] = {
        "kind": "code",
        "num_items": len(items),
        "few_shot": 0,
        "samples": samples,
        "temperature": 0.0 if samples == 1 else temperature,
        "primary": "pass@1",
        "sandbox": launcher().describe(),
    }
    for k in sorted(set(ks) | {1}):
        if k <= samples:
            result[f"pass@{k}"] = sum(pass_at_k(samples, sum(row), k) for row in passed) / len(
                items
            )
    with_solution = [item for item in items if item.canonical_solution.strip()]
    if score_gold is not None and with_solution:
        result["gold_logprob_per_token"] = gold_logprob_per_token(
            score_gold,
            [item.prompt for item in with_solution],
            [item.canonical_solution for item in with_solution],
        )
    result["examples"] = [
        {"task_id": item.task_id, "completion": row[0], "passed": ok[0]}
        for item, row, ok in list(zip(items, completions, passed, strict=True))[:3]
    ]
    return result
