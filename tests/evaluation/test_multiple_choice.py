"""Multiple-choice metrics against direct computations, on real task items."""

from __future__ import annotations

import pytest
import torch

from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.loglikelihood import hidden_states, make_request, score_requests
from llamapipe.evaluation.multiple_choice import UNCONDITIONAL_PROMPT, evaluate_multiple_choice
from llamapipe.evaluation.tasks import load_task
from llamapipe.model import build_transformer


@pytest.fixture
def setup(realdata, sp_model, tiny_args):
    torch.manual_seed(0)
    args = tiny_args(max_seq_len=256)  # room for 2-shot prompts: no truncation
    model = build_transformer(args).eval()
    items = load_task(realdata / "eval" / "llmfoundry_arc_easy_first200.jsonl", limit=8).items
    return model, args, SentencePieceEncoder(sp_model), items


def _direct_lls(model, encoder, prompt_choices):
    requests = [make_request(encoder, p, c) for p, c in prompt_choices]
    return [s.logprob for s in score_requests(model, requests, batch_size=8, max_seq_len=256)]


def test_accuracies_match_direct_argmax(setup):
    model, args, encoder, items = setup
    result = evaluate_multiple_choice(
        model,
        encoder,
        items,
        task_name="arc",
        schema="query",
        max_seq_len=256,
        unconditional_norm=True,
    )
    acc = acc_norm = acc_uncond = 0
    for item in items:
        cond = _direct_lls(model, encoder, [(item.context, " " + c) for c in item.choices])
        uncond = _direct_lls(
            model, encoder, [(UNCONDITIONAL_PROMPT, " " + c) for c in item.choices]
        )
        k = range(len(item.choices))
        acc += max(k, key=lambda c: cond[c]) == item.gold
        acc_norm += max(k, key=lambda c: cond[c] / len(item.choices[c])) == item.gold
        acc_uncond += max(k, key=lambda c: cond[c] - uncond[c]) == item.gold
    n = len(items)
    assert result.acc == acc / n and result.acc_norm == acc_norm / n
    assert result.acc_uncond == acc_uncond / n
    assert result.chance == pytest.approx(0.25)


def test_shared_prompt_path_gives_the_same_result(setup):
    """Equal when nothing is truncated (a too-long prompt is cut once for all choices there)."""
    model, args, encoder, items = setup
    common = dict(
        task_name="arc", schema="query", few_shot=2, max_seq_len=256, unconditional_norm=True
    )
    plain = evaluate_multiple_choice(model, encoder, items, **common)
    fast = evaluate_multiple_choice(
        lambda tokens: hidden_states(model, tokens),
        encoder,
        items,
        project=model.output,
        shared_context_model=(model, args),
        **common,
    )
    for metric in ("acc", "acc_norm", "acc_uncond"):
        assert getattr(plain, metric) == getattr(fast, metric), metric
    assert plain.gold_logprob_per_token == pytest.approx(fast.gold_logprob_per_token, abs=1e-4)
    assert plain.acc_uncond is not None
