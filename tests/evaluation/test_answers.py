"""Answer extraction and normalisation on the real GSM8K / MATH / TriviaQA items, and batched
KV-cache generation equal to one prompt at a time."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from llamapipe.evaluation import answers as ans
from llamapipe.evaluation.generate import SamplingParams, generate_batch, generate_tokens
from llamapipe.evaluation.generative import build_prompt
from llamapipe.evaluation.tasks import load_task
from llamapipe.model import build_transformer


def _records(realdata: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (realdata / "eval" / name).read_text().splitlines()]


def test_every_math_solution_boxes_its_reference_answer(realdata: Path) -> None:
    records = _records(realdata, "llmfoundry_math_first100.jsonl")
    for record in records:
        boxed = ans.math_answer(record["chain_of_thought"])
        assert ans.math_equal(boxed, record["answer"]), (boxed, record["answer"])
    assert ans.normalize_math("\\dfrac{3}{10}") == ans.normalize_math("\\frac{3}{10}")
    assert ans.normalize_math("14,\\!400") == "14,400"
    assert ans.normalize_math("\\$15.48") == "15.48"
    assert ans.normalize_math("x = \\frac12") == "\\frac{1}{2}"
    assert ans.normalize_math("3/4") == "\\frac{3}{4}"
    assert not ans.math_equal("\\frac{1}{3}", "\\frac{1}{2}")
    assert ans.math_answer("no answer here") is None


def test_gsm8k_final_numbers(realdata: Path) -> None:
    records = _records(realdata, "llmfoundry_gsm8k_first100.jsonl")
    stated = [f"{r['chain_of_thought']}\nThe answer is {r['answer']}." for r in records]
    assert [ans.gsm8k_answer(t) for t in stated] == [
        ans.gsm8k_reference(r["answer"]) for r in records
    ]
    assert ans.gsm8k_answer("so she makes $1,234.50 dollars") == "1234.5"
    assert ans.gsm8k_answer("#### 18") == "18"
    assert ans.gsm8k_answer("no digits") is None


def test_qa_normalisation_matches_any_alias(realdata: Path) -> None:
    record = _records(realdata, "llmfoundry_triviaqa_first200.jsonl")[0]
    assert ans.qa_match(" onions ", record["aliases"])
    assert ans.qa_match("Bulb-onion", ["Bulb onion"]) is False  # punctuation removed, not spaced
    assert ans.qa_match("the onion", ["Onion"], ans.squad_normalize)
    assert not ans.qa_match("the onion", ["Onion"])
    assert ans.cut_at_stop(" Paris, France.\nQ", ["\n", ".", ","]) == " Paris"


def test_few_shot_prompts_come_from_the_file(realdata: Path) -> None:
    items = load_task(realdata / "eval" / "llmfoundry_gsm8k_first100.jsonl").items
    prompt = build_prompt("gsm8k", items, 0, 2, 1234, "gsm8k")
    assert prompt.count("Question:") == 3 and prompt.count("The answer is") == 2
    assert prompt.endswith(f"Question: {items[0].context}\nAnswer:")
    assert prompt == build_prompt("gsm8k", items, 0, 2, 1234, "gsm8k")
    assert items[0].context not in prompt.split("\n\n")[0]


def test_batched_generation_equals_one_prompt_at_a_time(tiny_args) -> None:
    torch.manual_seed(0)
    args = tiny_args(n_kv_heads=2)
    model = build_transformer(args).eval()
    prompts = [[1, 5, 6, 7, 8, 9, 10, 11], [1, 20], [1, 30, 31, 32]]
    for params in (
        SamplingParams(temperature=0.0, max_new_tokens=10),
        SamplingParams(temperature=0.9, top_p=0.9, max_new_tokens=10, seed=4),
    ):
        batched = generate_batch(model, args, prompts, params, seeds=[4, 4, 4])
        assert batched == [generate_tokens(model, args, p, params) for p in prompts]
    stopped = generate_batch(
        model,
        args,
        prompts,
        SamplingParams(temperature=0.0, max_new_tokens=10),
        stop=lambda row, new: row == 1 and len(new) == 3,
    )
    assert [len(row) for row in stopped] == [10, 3, 10]
