"""Zero- and few-shot multiple-choice accuracy (paper section 3, common-sense reasoning).

Each choice is scored by the log-likelihood of its tokens given the prompt; the prediction is the
best choice. Two accuracies, as lm-evaluation-harness reports them:

- ``acc``: argmax of the summed log-likelihood;
- ``acc_norm``: argmax of log-likelihood divided by the choice's length in characters (the
  length normalisation the paper uses for most tasks; characters rather than tokens so that the
  score does not depend on the tokenizer);
- ``acc_uncond`` (optional, per task): argmax of log P(choice | prompt) - log P(choice |
  "Answer:"), the paper's normalisation "by the likelihood of the completion given 'Answer:'"
  (used for OpenBookQA, BoolQ, ARC): a choice that is likely anyway gains nothing.

Few-shot: k solved examples drawn from the same file (never the item itself) by a generator seeded
from (seed, task, item), each written as prompt + delimiter + right answer, separated by a blank
line, before the item's prompt. The same seed gives the same prompts on any machine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import torch

from llamapipe.evaluation.loglikelihood import (
    Request,
    Score,
    TextEncoder,
    make_request,
    score_requests,
    score_shared_context,
)
from llamapipe.evaluation.tasks import MultipleChoiceItem, delimiter_for
from llamapipe.model.args import ModelArgs

FEW_SHOT_SEPARATOR = "\n\n"
#: The bare prompt of the paper's unconditional normalisation (section 3).
UNCONDITIONAL_PROMPT = "Answer:"


@dataclass(frozen=True)
class TaskResult:
    """Accuracies of one task, with their binomial standard errors and the chance level."""

    name: str
    schema: str
    num_items: int
    few_shot: int
    acc: float
    acc_stderr: float
    acc_norm: float
    acc_norm_stderr: float
    #: None unless the task asked for the "Answer:"-conditioned normalisation.
    acc_uncond: float | None
    acc_uncond_stderr: float | None
    chance: float
    #: Mean log-likelihood per token of the right answers: moves smoothly with training even
    #: while accuracy is still at chance on a small model.
    gold_logprob_per_token: float
    skipped: dict[str, int]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def few_shot_prompt(
    items: list[MultipleChoiceItem],
    index: int,
    k: int,
    seed: int,
    task_name: str,
    delimiter: str | None,
) -> str:
    """The prompt for ``items[index]`` preceded by k solved examples from the other items."""
    item = items[index]
    if k <= 0:
        return item.context
    others = [i for i in range(len(items)) if i != index]
    if k > len(others):
        raise ValueError(f"task {task_name}: {k}-shot needs {k + 1} items, file has {len(items)}")
    rng = random.Random(f"{seed}:{task_name}:{item.line}")
    shots = [items[i] for i in rng.sample(others, k)]
    solved = [
        shot.context + delimiter_for(shot.context, delimiter) + shot.choices[shot.gold]
        for shot in shots
    ]
    return FEW_SHOT_SEPARATOR.join([*solved, item.context])


def _stderr(p: float, n: int) -> float:
    """Sample standard error of a mean of n 0/1 outcomes (lm-eval's ``mean_stderr``)."""
    return math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else 0.0


def evaluate_multiple_choice(
    forward: Callable[[torch.Tensor], torch.Tensor],
    encoder: TextEncoder,
    items: list[MultipleChoiceItem],
    *,
    task_name: str,
    schema: str,
    few_shot: int = 0,
    seed: int = 1234,
    delimiter: str | None = None,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    device: str | torch.device = "cpu",
    skipped: dict[str, int] | None = None,
    project: Callable[[torch.Tensor], torch.Tensor] | None = None,
    shared_context_model: tuple[torch.nn.Module, ModelArgs] | None = None,
    unconditional_norm: bool = False,
) -> TaskResult:
    """Score every choice of every item in batches and return the task's accuracies.

    ``forward``/``project``: see :func:`score_requests` (logits, or hidden states + projection).
    ``shared_context_model`` (our Transformer and its args): score each item's choices with one
    pass over the prompt (:func:`score_shared_context`) whenever they share its tokens.
    """
    requests, owners = _choice_requests(
        encoder, items, few_shot, seed, task_name, delimiter, unconditional_norm
    )
    scores: list[Score | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    if shared_context_model is not None:
        pending = _score_shared_prompts(
            shared_context_model, requests, owners, items, scores, max_seq_len, device
        )
    batched = score_requests(
        forward,
        [requests[i] for i in pending],
        batch_size=batch_size,
        max_seq_len=max_seq_len,
        device=device,
        project=project,
    )
    for request_index, score in zip(pending, batched, strict=True):
        scores[request_index] = score
    # Per item: [conditional log-likelihoods..., unconditional ones...] (the latter if asked).
    width = 2 if unconditional_norm else 1
    loglik: list[list[float]] = [[0.0] * (width * len(item.choices)) for item in items]
    gold_logprob = 0.0
    gold_tokens = 0
    for (index, slot), score in zip(owners, scores, strict=True):
        loglik[index][slot] = score.logprob
        if slot == items[index].gold:
            gold_logprob += score.logprob
            gold_tokens += score.num_tokens
    correct, correct_norm, correct_uncond = _count_correct(items, loglik, unconditional_norm)
    n = len(items)
    acc, acc_norm = correct / n, correct_norm / n
    acc_uncond = correct_uncond / n if unconditional_norm else None
    return TaskResult(
        name=task_name,
        schema=schema,
        num_items=n,
        few_shot=few_shot,
        acc=acc,
        acc_stderr=_stderr(acc, n),
        acc_norm=acc_norm,
        acc_norm_stderr=_stderr(acc_norm, n),
        acc_uncond=acc_uncond,
        acc_uncond_stderr=_stderr(acc_uncond, n) if acc_uncond is not None else None,
        chance=sum(1 / len(item.choices) for item in items) / n,
        gold_logprob_per_token=gold_logprob / max(gold_tokens, 1),
        skipped=dict(skipped or {}),
    )


def _choice_requests(
    encoder: TextEncoder,
    items: list[MultipleChoiceItem],
    few_shot: int,
    seed: int,
    task_name: str,
    delimiter: str | None,
    unconditional_norm: bool,
) -> tuple[list[Request], list[tuple[int, int]]]:
    """One request per choice of every item, and its owner (item index, slot): slot k is
    choice k after the item's prompt, slot len(choices) + k is choice k after "Answer:"."""
    requests: list[Request] = []
    owners: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        prompt = few_shot_prompt(items, index, few_shot, seed, task_name, delimiter)
        sep = delimiter_for(prompt, delimiter)
        for choice_index, choice in enumerate(item.choices):
            requests.append(make_request(encoder, prompt, sep + choice))
            owners.append((index, choice_index))
    if unconditional_norm:
        # One more request per choice: the same completion after the bare "Answer:" prompt.
        for index, item in enumerate(items):
            for choice_index, choice in enumerate(item.choices):
                requests.append(make_request(encoder, UNCONDITIONAL_PROMPT, " " + choice))
                owners.append((index, len(item.choices) + choice_index))
    return requests, owners


def _score_shared_prompts(
    shared_context_model: tuple[torch.nn.Module, ModelArgs],
    requests: list[Request],
    owners: list[tuple[int, int]],
    items: list[MultipleChoiceItem],
    scores: list[Score | None],
    max_seq_len: int,
    device: str | torch.device,
) -> list[int]:
    """Score, one pass over the prompt each, the groups of requests that share their prompt's
    tokens (filling ``scores``); returns the requests left for batched scoring."""
    model, args = shared_context_model
    # Requests sharing a prompt: an item's choices, and (separately) its "Answer:" ones.
    by_item: dict[tuple[int, bool], list[int]] = {}
    for request_index, (item_index, slot) in enumerate(owners):
        key = (item_index, slot >= len(items[item_index].choices))
        by_item.setdefault(key, []).append(request_index)
    pending: list[int] = []
    for group in by_item.values():
        if len({requests[i].context for i in group}) != 1:
            pending.extend(group)  # a choice merged with the prompt's last token
            continue
        shared = score_shared_context(
            model,
            args,
            requests[group[0]].context,
            [requests[i].continuation for i in group],
            max_seq_len=max_seq_len,
            device=device,
        )
        for request_index, score in zip(group, shared, strict=True):
            scores[request_index] = score
    return pending


def _count_correct(
    items: list[MultipleChoiceItem], loglik: list[list[float]], unconditional_norm: bool
) -> tuple[int, int, int]:
    """Items whose best choice is the right one by acc, acc_norm and acc_uncond."""
    correct = correct_norm = correct_uncond = 0
    for item, row in zip(items, loglik, strict=True):
        k = len(item.choices)
        lls = row[:k]
        best = max(range(k), key=lambda c: lls[c])
        normed = [ll / len(choice) for ll, choice in zip(lls, item.choices, strict=True)]
        best_norm = max(range(k), key=lambda c: normed[c])
        correct += int(best == item.gold)
        correct_norm += int(best_norm == item.gold)
        if unconditional_norm:
            gains = [lls[c] - row[k + c] for c in range(k)]
            correct_uncond += int(max(range(k), key=lambda c: gains[c]) == item.gold)
    return correct, correct_norm, correct_uncond
