"""Tasks scored by log-likelihood alone besides multiple choice: WinoGrande and LAMBADA.

- WinoGrande, "partial scoring" as lm-evaluation-harness's winogrande task does it: the blank of
  the sentence is filled with each option and the text *after* the blank (the same for every
  option) is scored: argmax over options of log P(" " + continuation | option-filled context).
  Scoring the shared continuation instead of the option removes the options' own frequency from
  the comparison. Metric: acc.
- LAMBADA (lm-eval's lambada_openai): log P(" " + last word | passage); acc is the fraction of
  passages whose last word greedy decoding reproduces exactly, perplexity is
  exp(-mean over passages of the last word's log-likelihood).

Few-shot examples (k > 0) are drawn as in multiple_choice.py, written as the solved text and
separated by blank lines.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import torch

from llamapipe.evaluation.loglikelihood import TextEncoder, make_request, score_requests
from llamapipe.evaluation.multiple_choice import FEW_SHOT_SEPARATOR, _stderr
from llamapipe.evaluation.task_schemas import LambadaItem, PartialItem
from llamapipe.evaluation.tasks import delimiter_for


def _shots(items: list, index: int, k: int, seed: int, task_name: str) -> list:
    """k other items of the task, drawn reproducibly for (seed, task, item)."""
    if k <= 0:
        return []
    others = [i for i in range(len(items)) if i != index]
    if k > len(others):
        raise ValueError(f"task {task_name}: {k}-shot needs {k + 1} items, file has {len(items)}")
    rng = random.Random(f"{seed}:{task_name}:{items[index].line}")
    return [items[i] for i in rng.sample(others, k)]


def _prefix(solved: list[str]) -> str:
    return "".join(text + FEW_SHOT_SEPARATOR for text in solved)


def evaluate_partial(
    forward: Callable[[torch.Tensor], torch.Tensor],
    encoder: TextEncoder,
    items: list[PartialItem],
    *,
    task_name: str,
    few_shot: int = 0,
    seed: int = 1234,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    device: str | torch.device = "cpu",
    project: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, Any]:
    """WinoGrande accuracy: the option after which the shared continuation is most likely."""
    requests, owners = [], []
    for index, item in enumerate(items):
        shots = _shots(items, index, few_shot, seed, task_name)
        prefix = _prefix(
            [
                s.contexts[s.gold] + delimiter_for(s.contexts[s.gold], None) + s.continuation
                for s in shots
            ]
        )
        for option, context in enumerate(item.contexts):
            full = prefix + context
            requests.append(
                make_request(encoder, full, delimiter_for(full, None) + item.continuation)
            )
            owners.append((index, option))
    scores = score_requests(
        forward,
        requests,
        batch_size=batch_size,
        max_seq_len=max_seq_len,
        device=device,
        project=project,
    )
    loglik = [[0.0] * len(item.contexts) for item in items]
    for (index, option), score in zip(owners, scores, strict=True):
        loglik[index][option] = score.logprob
    predictions = [max(range(len(row)), key=row.__getitem__) for row in loglik]
    correct = sum(int(p == item.gold) for p, item in zip(predictions, items, strict=True))
    n = len(items)
    acc = correct / n
    return {
        "kind": "partial",
        "num_items": n,
        "few_shot": few_shot,
        "acc": acc,
        "acc_stderr": _stderr(acc, n),
        "chance": sum(1 / len(item.contexts) for item in items) / n,
        "primary": "acc",
        "predictions": predictions,
    }


def evaluate_lambada(
    forward: Callable[[torch.Tensor], torch.Tensor],
    encoder: TextEncoder,
    items: list[LambadaItem],
    *,
    task_name: str,
    few_shot: int = 0,
    seed: int = 1234,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    device: str | torch.device = "cpu",
    project: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, Any]:
    """LAMBADA last-word accuracy (greedy match) and perplexity of the last word."""
    requests = []
    for index, item in enumerate(items):
        shots = _shots(items, index, few_shot, seed, task_name)
        prefix = _prefix([s.context + " " + s.continuation for s in shots])
        requests.append(make_request(encoder, prefix + item.context, " " + item.continuation))
    scores = score_requests(
        forward,
        requests,
        batch_size=batch_size,
        max_seq_len=max_seq_len,
        device=device,
        project=project,
    )
    n = len(items)
    acc = sum(int(s.is_greedy) for s in scores) / n
    mean_loglik = sum(s.logprob for s in scores) / n
    return {
        "kind": "lambada",
        "num_items": n,
        "few_shot": few_shot,
        "acc": acc,
        "acc_stderr": _stderr(acc, n),
        "perplexity": math.exp(-mean_loglik),
        "mean_logprob": mean_loglik,
        "primary": "acc",
    }
