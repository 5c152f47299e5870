"""Greedy generation and exact match equal lm-evaluation-harness's on TriviaQA items.

lm-eval's ``hf`` model runs our Hugging Face export of a tiny GQA model on a local task YAML
written like its triviaqa task (prompt = the record's context, greedy until "\\n", "." or ",",
whitespace stripped, exact_match ignoring case and punctuation, any alias). The model is
random-init: a model trained on a few books answers "Answer:" with a newline at once, which
would leave nothing to compare. Half of the
items get one extra alias: the model's own answer uppercased with punctuation added, so that the
exact-match normalisation is exercised on both sides (the tiny model knows no trivia).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.generate import SamplingParams
from llamapipe.evaluation.generative import (
    DEFAULT_STOPS,
    GenerationSettings,
    evaluate_generative,
    generate_texts,
)
from llamapipe.evaluation.tasks import load_task
from llamapipe.export.hf import GenerationDefaults, write_hf_model
from llamapipe.model import build_transformer

ITEMS = 8
MAX_NEW = 12

TASK_YAML = """task: local_triviaqa
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
test_split: test
output_type: generate_until
doc_to_text: "{{{{context}}}}"
doc_to_target: "{{{{ [answer] + aliases }}}}"
generation_kwargs:
  until:
    - "\\n"
    - "."
    - ","
  do_sample: false
  max_gen_toks: {max_new}
filter_list:
  - name: remove_whitespace
    filter:
      - function: remove_whitespace
      - function: take_first
target_delimiter: " "
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
"""


@pytest.mark.slow
def test_triviaqa_greedy_generations_and_em_equal_lm_eval(
    sp_model: Path, tiny_args, realdata: Path, tmp_path: Path, monkeypatch
) -> None:
    huggingface = pytest.importorskip("lm_eval.models.huggingface", reason="lm_eval not installed")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    torch.manual_seed(0)
    args = tiny_args(n_kv_heads=2, max_seq_len=128)
    model = build_transformer(args).eval()
    encoder = SentencePieceEncoder(sp_model)
    # generation_config.json's max_new_tokens overrides lm-eval's max_gen_toks in transformers'
    # generate(): export it equal to the task's.
    generation = GenerationDefaults(temperature=0.0, max_new_tokens=MAX_NEW)
    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "hf", generation=generation)

    source = realdata / "eval" / "llmfoundry_triviaqa_first200.jsonl"
    records = [json.loads(line) for line in source.read_text().splitlines()[:ITEMS]]
    greedy = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=MAX_NEW)
    stops = DEFAULT_STOPS["qa"]
    texts = generate_texts(model, args, encoder, [r["context"] for r in records], greedy, stops)
    for index in range(0, ITEMS, 2):
        if texts[index].strip():
            records[index]["aliases"].append(texts[index].strip().upper() + "!")
    task_file = tmp_path / "triviaqa_local.jsonl"
    task_file.write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "local_triviaqa.yaml").write_text(
        TASK_YAML.format(path=task_file, max_new=MAX_NEW)
    )

    ours = evaluate_generative(
        model,
        args,
        encoder,
        load_task(task_file).items,
        kind="qa",
        task_name="triviaqa",
        settings=GenerationSettings(max_new_tokens=MAX_NEW, stops=tuple(stops), batch_size=4),
    )
    harness = huggingface.HFLM(
        pretrained=str(tmp_path / "hf"), device="cpu", batch_size=1, dtype="float32"
    )
    torch.manual_seed(0)
    output = simple_evaluate(
        model=harness,
        tasks=["local_triviaqa"],
        task_manager=TaskManager(include_path=str(tmp_path / "tasks")),
        num_fewshot=0,
        log_samples=True,
        bootstrap_iters=0,
    )
    samples = sorted(output["samples"]["local_triviaqa"], key=lambda s: s["doc_id"])
    theirs = [s["filtered_resps"][0] for s in samples]
    assert theirs == [t.strip() for t in texts]
    assert any(theirs)  # the model did write something
    their_em = output["results"]["local_triviaqa"]["exact_match,remove_whitespace"]
    assert ours["em"] == pytest.approx(their_em)
    assert 0 < ours["em"] <= 0.5 + 1e-9
