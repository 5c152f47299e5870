"""Task files: every schema loads from the real samples; bad input fails or is skipped clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamapipe.evaluation.multiple_choice import few_shot_prompt
from llamapipe.evaluation.tasks import TaskFormatError, delimiter_for, detect_schema, load_task


def test_original_arc_schema(realdata: Path):
    data = load_task(realdata / "eval" / "ARC-Easy-Dev_original_format_sample.jsonl")
    assert data.schema == "arc" and len(data.items) == 5
    first = data.items[0]
    assert first.context == ("Question: Which technology was developed most recently?\nAnswer:")
    assert first.choices[first.gold] == "cellular telephone"  # answerKey "A"


@pytest.mark.parametrize(
    ("name", "count", "choices"),
    [
        ("llmfoundry_arc_easy_first200.jsonl", 200, 4),
        ("llmfoundry_boolq_first200.jsonl", 200, 2),
        ("llmfoundry_copa_all100.jsonl", 100, 2),
        ("llmfoundry_piqa_first200.jsonl", 200, 2),
        ("llmfoundry_tests_hellaswag_small.jsonl", 4, 4),
    ],
)
def test_query_choices_gold_schema(realdata: Path, name, count, choices):
    data = load_task(realdata / "eval" / name)
    assert data.schema == "query"
    assert len(data.items) == count and not data.skipped
    assert all(len(item.choices) == choices for item in data.items)
    assert all(0 <= item.gold < choices for item in data.items)


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _query_records(realdata: Path, name: str) -> list[dict]:
    lines = (realdata / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_original_piqa_schema(realdata: Path, tmp_path: Path):
    """Real PIQA items rewritten into PIQA's own release schema (goal, sol1, sol2, label)."""
    records = [
        {
            "goal": r["query"].removeprefix("Question: ").rstrip("\n"),
            "sol1": r["choices"][0],
            "sol2": r["choices"][1],
            "label": r["gold"],
        }
        for r in _query_records(realdata, "llmfoundry_piqa_first200.jsonl")[:20]
    ]
    data = load_task(_write_jsonl(tmp_path / "piqa.jsonl", records))
    assert data.schema == "piqa" and len(data.items) == 20
    item = data.items[0]
    assert item.context == f"Question: {records[0]['goal']}\nAnswer:"
    assert item.choices == (records[0]["sol1"], records[0]["sol2"])
    assert item.gold == records[0]["label"]


def test_piqa_release_with_separate_labels_file(realdata: Path, tmp_path: Path):
    """PIQA as released: valid.jsonl without labels + valid-labels.lst, aligned by line."""
    source = _query_records(realdata, "llmfoundry_piqa_first200.jsonl")[:10]
    records = [
        {
            "id": f"piqa-{i}",
            "goal": r["query"].removeprefix("Question: ").rstrip("\n"),
            "sol1": r["choices"][0],
            "sol2": r["choices"][1],
        }
        for i, r in enumerate(source)
    ]
    path = _write_jsonl(tmp_path / "valid.jsonl", records)
    with pytest.raises(TaskFormatError, match="valid-labels.lst"):
        load_task(path)
    (tmp_path / "valid-labels.lst").write_text("".join(f"{r['gold']}\n" for r in source))
    data = load_task(path)
    assert data.schema == "piqa"
    assert [item.gold for item in data.items] == [r["gold"] for r in source]


def test_original_boolq_schema(realdata: Path, tmp_path: Path):
    records = []
    for r in _query_records(realdata, "llmfoundry_boolq_first200.jsonl")[:20]:
        passage, question = r["query"].removeprefix("Passage: ").split("\nQuestion: ")
        question = question.split("?")[0]
        records.append({"passage": passage, "question": question, "answer": r["gold"] == 1})
    data = load_task(_write_jsonl(tmp_path / "boolq.jsonl", records))
    assert data.schema == "boolq"
    item = data.items[0]
    assert item.choices == ("no", "yes")
    assert item.gold == int(records[0]["answer"])
    assert item.context.endswith(f"\nQuestion: {records[0]['question']}?\nAnswer:")


def test_original_hellaswag_schema(realdata: Path, tmp_path: Path):
    records = []
    for r in _query_records(realdata, "llmfoundry_tests_hellaswag_small.jsonl"):
        activity, ctx = r["query"].split(": ", 1)
        records.append(
            {
                "activity_label": activity,
                "ctx": ctx + " [title] Step",
                "endings": r["choices"],
                "label": str(r["gold"]),  # HF's hellaswag stores labels as strings
            }
        )
    data = load_task(_write_jsonl(tmp_path / "hellaswag.jsonl", records))
    assert data.schema == "hellaswag" and len(data.items) == 4
    item = data.items[0]
    assert item.context.startswith(records[0]["activity_label"] + ": ")
    assert "[title]" not in item.context and item.context.endswith(". Step")
    assert item.gold == int(records[0]["label"])


def test_arc_hugging_face_layout(realdata: Path, tmp_path: Path):
    original = _query_records(realdata, "ARC-Easy-Dev_original_format_sample.jsonl")
    records = [
        {
            "id": r["id"],
            "question": r["question"]["stem"],
            "choices": {
                "text": [c["text"] for c in r["question"]["choices"]],
                "label": [c["label"] for c in r["question"]["choices"]],
            },
            "answerKey": r["answerKey"],
        }
        for r in original
    ]
    hf_layout = load_task(_write_jsonl(tmp_path / "arc_hf.jsonl", records))
    release = load_task(realdata / "eval" / "ARC-Easy-Dev_original_format_sample.jsonl")
    assert hf_layout.schema == "arc"
    assert [(i.context, i.choices, i.gold) for i in hf_layout.items] == [
        (i.context, i.choices, i.gold) for i in release.items
    ]


def test_arc_numeric_answer_keys(tmp_path: Path):
    record = {
        "question": {
            "stem": "2 + 2 = ?",
            "choices": [{"text": "3", "label": "1"}, {"text": "4", "label": "2"}],
        },
        "answerKey": "2",
    }
    data = load_task(_write_jsonl(tmp_path / "arc.jsonl", [record]))
    assert data.items[0].gold == 1


def test_unknown_schema_names_file_and_line(tmp_path: Path):
    path = tmp_path / "mystery.jsonl"
    path.write_text('\n{"prompt": "a", "answers": ["b"]}\n', encoding="utf-8")
    with pytest.raises(TaskFormatError) as err:
        load_task(path)
    message = str(err.value)
    assert f"{path}:2" in message and "unknown task schema" in message and "'answers'" in message


def test_bad_records_skipped_with_reason_or_raise_in_strict(realdata: Path, tmp_path: Path):
    good = _query_records(realdata, "llmfoundry_copa_all100.jsonl")[:3]
    bad_gold = dict(good[0], gold=7)
    lines = [json.dumps(r) for r in good] + ["{not json", json.dumps(bad_gold)]
    path = tmp_path / "copa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load_task(path)
    assert len(data.items) == 3
    assert data.skipped["invalid JSON"] == 1
    assert sum(data.skipped.values()) == 2
    with pytest.raises(TaskFormatError, match=rf"{path.name}:4"):
        load_task(path, strict=True)


def test_detect_schema_prefers_specific_keys():
    assert detect_schema({"goal": 1, "sol1": 1, "sol2": 1, "label": 0}) == "piqa"
    assert detect_schema({"passage": "", "question": "", "answer": True}) == "boolq"
    assert detect_schema({"question": {}, "answerKey": "A"}) == "arc"
    assert detect_schema({"text": ""}) is None


def test_few_shot_prompt_is_seeded_and_excludes_the_item(realdata: Path):
    items = load_task(realdata / "eval" / "llmfoundry_copa_all100.jsonl").items
    first = few_shot_prompt(items, 5, 3, seed=1, task_name="copa", delimiter=None)
    assert first == few_shot_prompt(items, 5, 3, seed=1, task_name="copa", delimiter=None)
    assert first != few_shot_prompt(items, 5, 3, seed=2, task_name="copa", delimiter=None)
    shots = first.split("\n\n")
    assert len(shots) == 4 and shots[-1] == items[5].context
    solved = {item.context + " " + item.choices[item.gold] for item in items}
    assert all(shot in solved for shot in shots[:3])
    assert items[5].context + " " + items[5].choices[items[5].gold] not in shots[:3]


def test_delimiter_for():
    assert delimiter_for("Answer:", None) == " "
    assert delimiter_for("Question: x\n", None) == ""
    assert delimiter_for("Answer:", "\n") == "\n"
