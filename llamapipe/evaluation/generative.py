"""Generative tasks: closed-book QA, GSM8K and MATH, scored on what the model writes.

Prompts (k-shot examples drawn from the same file, never the item itself, separated by a blank
line; the seed makes them the same on every machine):

- qa (TriviaQA / Natural Questions): the record's context as is ("Question: ...\\nAnswer:");
  a solved example appends " " + its first answer. Greedy until a newline, "." or "," (paper
  section 3.2 and lm-eval's triviaqa); exact match against any alias (answers.py).
- gsm8k: "Question: {q}\\nAnswer:"; a solved example appends " {chain of thought}\\nThe answer
  is {answer}."; generation stops at a blank line or "Question:"; the final number counts.
- math: "Problem:\\n{q}\\n\\nSolution:"; a solved example appends " {solution}" (which boxes
  its answer); generation stops at "Problem:"; the last boxed answer, normalised, counts.

Greedy decoding gives ``acc`` (``em`` for QA). With ``samples = k > 1`` each item is also sampled
k times (temperature/top-p of the task) and ``maj@k`` is the accuracy of the most frequent
answer (the paper's maj1@k, Table 7).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from llamapipe.evaluation import answers as ans
from llamapipe.evaluation.generate import (
    SamplingParams,
    TextCodec,
    continuation_text,
    generate_batch,
)
from llamapipe.evaluation.multiple_choice import FEW_SHOT_SEPARATOR, _stderr
from llamapipe.evaluation.task_schemas import GenerativeItem
from llamapipe.model.args import ModelArgs

#: Scores (context, continuation) pairs: log-likelihood sums and token counts (runner.py).
GoldScorer = Callable[[list[tuple[str, str]]], list[tuple[float, int]]]

#: Default stop strings and generation lengths of each kind.
DEFAULT_STOPS = {
    "qa": ["\n", ".", ","],
    "gsm8k": ["\n\n", "Question:"],
    "math": ["Problem:"],
}
DEFAULT_MAX_NEW_TOKENS = {"qa": 32, "gsm8k": 256, "math": 384}
#: How many generations per task are kept in results.json for inspection.
EXAMPLES_KEPT = 5


def question_prompt(kind: str, item: GenerativeItem) -> str:
    if kind == "gsm8k":
        return f"Question: {item.context}\nAnswer:"
    if kind == "math":
        return f"Problem:\n{item.context}\n\nSolution:"
    return item.context


def solved_example(kind: str, item: GenerativeItem) -> str:
    prompt = question_prompt(kind, item)
    if kind == "gsm8k":
        return f"{prompt} {item.solution.strip()}\nThe answer is {item.answers[0]}."
    if kind == "math":
        return f"{prompt} {item.solution.strip()}"
    return f"{prompt} {item.answers[0]}"


def build_prompt(
    kind: str, items: Sequence[GenerativeItem], index: int, k: int, seed: int, task_name: str
) -> str:
    """The item's prompt preceded by k solved examples from the other items."""
    item = items[index]
    if k <= 0:
        return question_prompt(kind, item)
    others = [i for i in range(len(items)) if i != index]
    if k > len(others):
        raise ValueError(f"task {task_name}: {k}-shot needs {k + 1} items, file has {len(items)}")
    rng = random.Random(f"{seed}:{task_name}:{item.line}")
    shots = [solved_example(kind, items[i]) for i in rng.sample(others, k)]
    return FEW_SHOT_SEPARATOR.join([*shots, question_prompt(kind, item)])


def gold_continuation(kind: str, item: GenerativeItem) -> str:
    """The reference written out as the model should continue the prompt."""
    return solved_example(kind, item)[len(question_prompt(kind, item)) :]


def gold_logprob_per_token(
    score_gold: GoldScorer, prompts: Sequence[str], golds: Sequence[str]
) -> float:
    """Mean log-likelihood per token of the references: moves with training even while exact
    match is still 0 on a small model (as for multiple choice)."""
    scored = score_gold(list(zip(prompts, golds, strict=True)))
    return sum(lp for lp, _ in scored) / max(1, sum(n for _, n in scored))


def extract_answer(kind: str, text: str) -> str | None:
    """What is compared with the reference: the QA answer text, or the final number/box."""
    if kind == "gsm8k":
        return ans.gsm8k_answer(text)
    if kind == "math":
        return ans.math_answer(text)
    return text.strip()


def is_correct(kind: str, predicted: str | None, item: GenerativeItem) -> bool:
    if predicted is None:
        return False
    if kind == "gsm8k":
        return predicted == ans.gsm8k_reference(item.answers[0])
    if kind == "math":
        return ans.math_equal(predicted, item.answers[0])
    return ans.qa_match(predicted, item.answers)


@dataclass(frozen=True)
class GenerationSettings:
    """How one generative task decodes."""

    max_new_tokens: int
    stops: tuple[str, ...]
    samples: int = 1
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int = 0
    batch_size: int = 8


def generate_texts(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: TextCodec,
    prompts: Sequence[str],
    params: SamplingParams,
    stops: Sequence[str],
    *,
    seeds: Sequence[int] | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
) -> list[str]:
    """The continuation of each prompt, cut at the first stop string (batched, KV cache).

    Prompts are batched by token length (similar lengths waste fewer steps) and returned in
    input order. A row stops as soon as its text holds a stop string.
    """
    encoded = [encoder.encode(p) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    texts: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]

        def stop(row: int, new: list[int]) -> bool:
            text = encoder.decode(new)
            return any(s and s in text for s in stops)

        produced = generate_batch(
            model,
            args,
            [[encoder.bos_id, *encoded[i]] for i in batch],
            params,
            seeds=[seeds[i] for i in batch] if seeds is not None else None,
            eos_id=encoder.eos_id,
            stop=stop,
            device=device,
        )
        for i, new in zip(batch, produced, strict=True):
            texts[i] = ans.cut_at_stop(continuation_text(encoder, encoded[i], new), stops)
    return texts


def evaluate_generative(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: TextCodec,
    items: list[GenerativeItem],
    *,
    kind: str,
    task_name: str,
    settings: GenerationSettings,
    few_shot: int = 0,
    few_shot_seed: int = 1234,
    device: str | torch.device = "cpu",
    score_gold: GoldScorer | None = None,
) -> dict[str, Any]:
    """Greedy accuracy (``em`` for QA, ``acc`` for math), and ``maj@k`` when sampling k > 1;
    with ``score_gold`` also the references' log-likelihood per token."""
    if kind not in DEFAULT_STOPS:
        raise ValueError(f"unknown generative task kind {kind!r}")
    prompts = [
        build_prompt(kind, items, i, few_shot, few_shot_seed, task_name) for i in range(len(items))
    ]
    greedy = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=settings.max_new_tokens)
    texts = generate_texts(
        model,
        args,
        encoder,
        prompts,
        greedy,
        settings.stops,
        batch_size=settings.batch_size,
        device=device,
    )
    predicted = [extract_answer(kind, t) for t in texts]
    correct = [is_correct(kind, p, item) for p, item in zip(predicted, items, strict=True)]
    n = len(items)
    metric = "em" if kind == "qa" else "acc"
    score = sum(correct) / n
    result: dict[str, Any] = {
        "kind": kind,
        "num_items": n,
        "few_shot": few_shot,
        metric: score,
        f"{metric}_stderr": _stderr(score, n),
        "primary": metric,
        "max_new_tokens": settings.max_new_tokens,
        "stop": list(settings.stops),
        "examples": [
            {"line": item.line, "generation": text, "answer": p, "correct": c}
            for item, text, p, c in list(zip(items, texts, predicted, correct, strict=True))[
                :EXAMPLES_KEPT
            ]
        ],
    }
    if score_gold is not None:
        golds = [gold_continuation(kind, item) for item in items]
        result["gold_logprob_per_token"] = gold_logprob_per_token(score_gold, prompts, golds)
    if kind == "qa":
        squad = [
            ans.qa_match(t, item.answers, ans.squad_normalize)
            for t, item in zip(predicted, items, strict=True)
        ]
        result["em_squad"] = sum(squad) / n
    if settings.samples > 1:
        k = settings.samples
        result[f"maj@{k}"] = _majority_accuracy(
            model, args, encoder, prompts, items, kind, settings, device
        )
        result["samples"] = k
        result["temperature"] = settings.temperature
        result["top_p"] = settings.top_p
    return result


def _majority_accuracy(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: TextCodec,
    prompts: list[str],
    items: list[GenerativeItem],
    kind: str,
    settings: GenerationSettings,
    device: str | torch.device,
) -> float:
    """``maj@k``: the share of items whose most frequent answer over k sampled generations
    (seeded per item and sample) is right."""
    k, n = settings.samples, len(items)
    sampled = SamplingParams(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_new_tokens=settings.max_new_tokens,
        seed=settings.seed,
    )
    many = generate_texts(
        model,
        args,
        encoder,
        [p for p in prompts for _ in range(k)],
        sampled,
        settings.stops,
        seeds=[settings.seed * 1_000_003 + i for i in range(n * k)],
        batch_size=settings.batch_size,
        device=device,
    )
    votes = 0
    for index, item in enumerate(items):
        extracted = [extract_answer(kind, t) for t in many[index * k : (index + 1) * k]]
        if kind == "math":  # vote on the normalised spelling
            extracted = [ans.normalize_math(a) if a is not None else None for a in extracted]
        votes += int(is_correct(kind, ans.majority(extracted), item))
    return votes / n
