"""The paper's other task kinds on the real llm-foundry files: WinoGrande partial scoring,
LAMBADA, closed-book QA, GSM8K, MATH and HumanEval, scored on the trained tiny checkpoint and on
a random-init model of the same shape; results accumulate in results.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from rich.console import Group

from llamapipe.config import PipelineConfig
from llamapipe.config.eval import EvalTask
from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.report import paper_tables, results_tables
from llamapipe.evaluation.runner import evaluate_model, results_path, run_eval, tokens_dir
from llamapipe.evaluation.tasks import TaskFormatError, load_task
from llamapipe.model import build_transformer
from llamapipe.report import report_text
from llamapipe.training.checkpoint import load_model_for_inference


def _own_run(cfg: PipelineConfig, root: Path) -> PipelineConfig:
    """The trained run seen through another run folder (links to its tokenizer, tokens and
    checkpoints), so results.json written here does not mix with other tests' results."""
    run = root / "run"
    run.mkdir()
    for name in ("tokenizer", "tokens", "train"):
        (run / name).symlink_to(cfg.run_dir / name)
    own = cfg.model_copy(deep=True)
    own.run.dir = str(run)
    return own


def _paper_tasks(eval_dir: Path) -> list[EvalTask]:
    def path(name: str) -> str:
        return str(eval_dir / name)

    return [
        EvalTask(name="winogrande", path=path("llmfoundry_winogrande_201-400.jsonl"), limit=20),
        EvalTask(name="lambada", path=path("llmfoundry_lambada_openai_first200.jsonl"), limit=30),
        EvalTask(
            name="triviaqa",
            path=path("llmfoundry_triviaqa_first200.jsonl"),
            limit=12,
            few_shot=1,
            max_new_tokens=12,
        ),
        EvalTask(
            name="gsm8k",
            path=path("llmfoundry_gsm8k_first100.jsonl"),
            limit=3,
            few_shot=1,
            max_new_tokens=16,
            samples=2,
        ),
        EvalTask(
            name="math", path=path("llmfoundry_math_first100.jsonl"), limit=3, max_new_tokens=16
        ),
        EvalTask(
            name="humaneval",
            path=path("llmfoundry_human_eval_first40.jsonl"),
            limit=3,
            max_new_tokens=24,
            samples=2,
            pass_at=[1, 2],
            timeout_s=5,
        ),
    ]


def test_real_files_load_as_their_kinds(realdata: Path) -> None:
    kinds = {
        "llmfoundry_winogrande_201-400.jsonl": ("winogrande", "partial", 200),
        "llmfoundry_lambada_openai_first200.jsonl": ("lambada", "lambada", 200),
        "llmfoundry_triviaqa_first200.jsonl": ("triviaqa", "qa", 200),
        "llmfoundry_gsm8k_first100.jsonl": ("gsm8k", "gsm8k", 100),
        "llmfoundry_math_first100.jsonl": ("math", "math", 100),
        "llmfoundry_human_eval_first40.jsonl": ("humaneval", "code", 40),
    }
    for name, (schema, kind, count) in kinds.items():
        data = load_task(realdata / "eval" / name)
        assert (data.schema, data.kind, len(data.items), sum(data.skipped.values())) == (
            schema,
            kind,
            count,
            0,
        ), name
    first = load_task(realdata / "eval" / "llmfoundry_winogrande_201-400.jsonl").items[0]
    assert first.contexts[0].endswith("as Victoria") and first.continuation.startswith("needed")


def test_a_bad_winogrande_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wino.jsonl"
    good = {"context_options": ["A x", "A y"], "continuation": "z.", "gold": 1}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "gold": 2}) + "\n")
    data = load_task(path)
    assert len(data.items) == 1 and sum(data.skipped.values()) == 1
    with pytest.raises(TaskFormatError, match=r"wino.jsonl:2: bad winogrande record: gold 2"):
        load_task(path, strict=True)


@pytest.mark.slow
def test_paper_tasks_on_trained_and_random_models(
    trained_run: PipelineConfig, realdata: Path, tmp_path: Path
):
    cfg = _own_run(trained_run, tmp_path)
    cfg.eval.tasks = _paper_tasks(realdata / "eval")
    cfg.eval.perplexity = False
    results = run_eval(cfg)
    assert results_path(cfg, Path(results["checkpoint"])).parent.parent.parent == cfg.run_dir
    tasks = results["tasks"]
    assert {"winogrande", "lambada", "triviaqa", "gsm8k", "math", "humaneval"} <= set(tasks)
    assert tasks["winogrande"]["kind"] == "partial" and tasks["winogrande"]["num_items"] == 20
    assert 0 <= tasks["winogrande"]["acc"] <= 1
    assert tasks["lambada"]["perplexity"] > 1 and 0 <= tasks["lambada"]["acc"] <= 1
    assert tasks["triviaqa"]["few_shot"] == 1 and 0 <= tasks["triviaqa"]["em"] <= 1
    assert "maj@2" in tasks["gsm8k"] and tasks["gsm8k"]["samples"] == 2
    assert set(tasks["humaneval"]) >= {"pass@1", "pass@2", "sandbox"}
    for example in tasks["triviaqa"]["examples"]:
        assert "\n" not in example["generation"] and "." not in example["generation"]

    model, args = load_model_for_inference(Path(results["checkpoint"]))
    torch.manual_seed(321)
    random_model = build_transformer(args).eval()
    encoder = SentencePieceEncoder(cfg.run_dir / "tokenizer" / "tokenizer.model")
    random = evaluate_model(
        random_model, args, encoder, cfg.eval, base_dir=cfg.base_dir, tokens=tokens_dir(cfg)
    )["tasks"]
    # The scores differ (a trained book model is not better at trivia names: only "differ").
    assert tasks["winogrande"]["predictions"] != random["winogrande"]["predictions"]
    assert tasks["lambada"]["perplexity"] < random["lambada"]["perplexity"]
    for name in ("triviaqa", "gsm8k", "math", "humaneval"):
        assert tasks[name]["gold_logprob_per_token"] != random[name]["gold_logprob_per_token"]
        ours = [e.get("generation", e.get("completion")) for e in tasks[name]["examples"]]
        theirs = [e.get("generation", e.get("completion")) for e in random[name]["examples"]]
        assert ours != theirs, name

    # The paper's layout: a table per group with this checkpoint's row.
    text = report_text(Group(*paper_tables([results])))
    for title in ("Common sense reasoning", "Closed-book question answering", "Code generation"):
        assert title in text
    assert "humaneval pass@2" in text and "gsm8k maj@2" in text
    assert len(results_tables(results)) >= 3


@pytest.mark.slow
def test_results_accumulate_across_evals(
    trained_run: PipelineConfig, realdata: Path, tmp_path: Path
) -> None:
    cfg = _own_run(trained_run, tmp_path)
    cfg.eval.perplexity = False
    eval_dir = realdata / "eval"
    first = cfg.model_copy(deep=True)
    first.eval.tasks = [
        EvalTask(name="copa", path=str(eval_dir / "llmfoundry_copa_all100.jsonl"), limit=10)
    ]
    second = cfg.model_copy(deep=True)
    second.eval.tasks = [
        EvalTask(
            name="winogrande", path=str(eval_dir / "llmfoundry_winogrande_201-400.jsonl"), limit=8
        )
    ]
    a = run_eval(first)
    b = run_eval(second)
    assert set(b["tasks"]) == {"copa", "winogrande"}
    assert b["tasks"]["copa"] == a["tasks"]["copa"]  # kept, not recomputed
    stored = json.loads(results_path(cfg, Path(a["checkpoint"])).read_text())
    assert set(stored["tasks"]) == {"copa", "winogrande"}
    # Changing one task recomputes that one only.
    third = second.model_copy(deep=True)
    third.eval.tasks[0].limit = 4
    c = run_eval(third)
    assert c["tasks"]["winogrande"]["num_items"] == 4 and c["tasks"]["copa"] == a["tasks"]["copa"]
