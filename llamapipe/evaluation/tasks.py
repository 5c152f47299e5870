"""Task files: detect the schema of each JSONL file and turn records into items.

Multiple-choice schemas are below; the other kinds (WinoGrande partial scoring, LAMBADA,
closed-book QA, GSM8K, MATH, HumanEval) are in task_schemas.py and are detected first.

Supported schemas (the datasets' original releases, plus the common ICL format), each with its
prompt and choices:

- piqa: goal, sol1, sol2, label -> "Question: {goal}\\nAnswer:", choices sol1 | sol2. PIQA's
  own release keeps labels apart (``valid.jsonl`` + ``valid-labels.lst``, one 0/1 per line): a
  record without ``label`` takes it from ``<stem>-labels.lst`` beside the file
- arc: question{stem, choices[{text, label}]}, answerKey -> "Question: {stem}\\nAnswer:", the
  choice texts (answerKey is one of the labels, letters or digits); the Hugging Face layout
  (question as a string, choices{text[], label[]}) is read too
- hellaswag: ctx (or ctx_a + ctx_b), endings, label, optional activity_label ->
  "{activity_label}: {ctx}", the endings (WikiHow "[title]"-style markup removed)
- boolq: passage, question, answer (bool) -> "{passage}\\nQuestion: {question}?\\nAnswer:",
  choices no | yes
- query: query, choices, gold -> the query, the choices

Prompts follow lm-evaluation-harness's templates so numbers are comparable with the usual
reports. A choice is appended to its prompt after a delimiter (" " by default; none when the
prompt already ends in whitespace). The schema is fixed by the file's first record; a later record
that does not parse is counted and skipped with its reason (or raises in strict mode).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llamapipe.errors import InputError
from llamapipe.evaluation import task_schemas


class TaskFormatError(InputError, ValueError):
    """A task file (or one record of it) cannot be read; the message names file and line."""


@dataclass(frozen=True)
class MultipleChoiceItem:
    """One question: the prompt, its candidate completions, and the index of the right one."""

    context: str
    choices: tuple[str, ...]
    gold: int
    line: int  # 1-based line in the task file, for error messages and few-shot exclusion


@dataclass
class TaskData:
    """The items of a task file and what was skipped while reading it (reason -> count)."""

    path: Path
    schema: str
    items: list  # MultipleChoiceItem, or a task_schemas item for the other kinds
    skipped: Counter = field(default_factory=Counter)

    @property
    def kind(self) -> str:
        """multiple_choice | partial | lambada | qa | gsm8k | math | code."""
        return task_kind(self.schema)


def task_kind(schema: str) -> str:
    if schema in task_schemas.SCHEMAS:
        return task_schemas.SCHEMAS[schema][1]
    return "multiple_choice"


def _piqa(record: dict) -> tuple[str, list[str], int]:
    return f"Question: {record['goal']}\nAnswer:", [record["sol1"], record["sol2"]], record["label"]


def _arc(record: dict) -> tuple[str, list[str], int]:
    question = record["question"]
    if isinstance(question, str):  # Hugging Face ai2_arc layout: choices{text[], label[]}
        stem = question
        labels = [str(label) for label in record["choices"]["label"]]
        texts = list(record["choices"]["text"])
    else:  # AI2's release: question{stem, choices[{text, label}]}
        stem = question["stem"]
        labels = [str(choice["label"]) for choice in question["choices"]]
        texts = [choice["text"] for choice in question["choices"]]
    answer = str(record["answerKey"])
    if answer not in labels:
        raise ValueError(f"answerKey {answer!r} is not one of the choice labels {labels}")
    return f"Question: {stem}\nAnswer:", texts, labels.index(answer)


def _hellaswag_clean(text: str) -> str:
    """WikiHow contexts carry markup like " [title]" and "[header]"; lm-eval removes it so."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def _hellaswag(record: dict) -> tuple[str, list[str], int]:
    if "ctx_a" in record and "ctx_b" in record:
        ctx = f"{record['ctx_a']} {record['ctx_b'].capitalize()}"
    else:
        ctx = record["ctx"]
    activity = record.get("activity_label")
    prompt = f"{activity}: {ctx}" if activity else ctx
    label = record["label"]
    if isinstance(label, str):
        if not label.strip().isdigit():
            raise ValueError(f"label {label!r} is not an index (unlabelled test split?)")
        label = int(label)
    return _hellaswag_clean(prompt), [_hellaswag_clean(e) for e in record["endings"]], label


def _boolq(record: dict) -> tuple[str, list[str], int]:
    answer = record["answer"]
    if not isinstance(answer, bool):
        raise ValueError(f"answer {answer!r} is not a boolean")
    prompt = f"{record['passage']}\nQuestion: {record['question']}?\nAnswer:"
    return prompt, ["no", "yes"], int(answer)


def _query(record: dict) -> tuple[str, list[str], int]:
    return record["query"], list(record["choices"]), record["gold"]


# schema name -> (keys that identify it, converter). Checked in order; the first whose keys are
# all present wins, so the more specific schemas come first.
SCHEMAS = {
    "piqa": ({"goal", "sol1", "sol2"}, _piqa),
    "arc": ({"question", "answerKey"}, _arc),
    "hellaswag": ({"endings", "label"}, _hellaswag),
    "boolq": ({"passage", "question", "answer"}, _boolq),
    "query": ({"query", "choices", "gold"}, _query),
}


def detect_schema(record: dict) -> str | None:
    """Name of the schema whose identifying keys the record has, or None."""
    for name, (keys, _, _) in task_schemas.SCHEMAS.items():
        if keys <= record.keys():
            return name
    for name, (keys, _) in SCHEMAS.items():
        if keys <= record.keys():
            return name
    return None


def _schema_help() -> str:
    known = [(name, keys) for name, (keys, _, _) in task_schemas.SCHEMAS.items()]
    known += [(name, keys) for name, (keys, _) in SCHEMAS.items()]
    return "; ".join(f"{name}: {sorted(keys)}" for name, keys in known)


def _to_item(schema: str, record: dict, line: int):
    if schema in task_schemas.SCHEMAS:
        return task_schemas.SCHEMAS[schema][2](record, line)
    context, choices, gold = SCHEMAS[schema][1](record)
    if not isinstance(context, str) or not all(isinstance(c, str) for c in choices):
        raise ValueError("prompt and choices must be strings")
    if len(choices) < 2:
        raise ValueError(f"needs at least 2 choices, has {len(choices)}")
    if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(choices):
        raise ValueError(f"gold answer {gold!r} is not an index into {len(choices)} choices")
    if any(not c.strip() for c in choices):
        raise ValueError("a choice is empty")
    return MultipleChoiceItem(context=context, choices=tuple(choices), gold=gold, line=line)


def _read_piqa_labels(path: Path) -> list[int]:
    """PIQA's separate answer file: ``valid.jsonl`` -> ``valid-labels.lst`` (one 0/1 a line)."""
    labels_path = path.with_name(f"{path.stem}-labels.lst")
    if not labels_path.exists():
        raise TaskFormatError(
            f"{path}: PIQA records without 'label' need their answers in {labels_path.name} "
            "(the original release's labels file) beside the task file"
        )
    labels = []
    for number, line in enumerate(labels_path.read_text().splitlines(), start=1):
        if line.strip() not in ("0", "1"):
            raise TaskFormatError(f"{labels_path}:{number}: expected 0 or 1, got {line!r}")
        labels.append(int(line))
    return labels


def load_task(path: Path, *, strict: bool = False, limit: int | None = None) -> TaskData:
    """Read a JSONL task file, autodetecting its schema from the first record.

    Raises TaskFormatError naming the file and line when the first record's schema is unknown or
    (strict) any record is bad; otherwise bad records are skipped and counted by reason.
    """
    path = Path(path)
    if not path.exists():
        raise TaskFormatError(f"{path}: task file not found")
    schema: str | None = None
    piqa_labels: list[int] | None = None
    record_index = -1  # index among the file's records (PIQA's label file is aligned to it)
    items: list = []
    skipped: Counter = Counter()
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if limit is not None and len(items) >= limit:
                break
            record_index += 1
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("record is not a JSON object")
            except ValueError as exc:
                if strict or schema is None:
                    message = f"{path}:{line_number}: not a JSON object: {exc}"
                    raise TaskFormatError(message) from exc
                skipped["invalid JSON"] += 1
                continue
            if schema is None:
                schema = detect_schema(record)
                if schema is None:
                    raise TaskFormatError(
                        f"{path}:{line_number}: unknown task schema, record keys "
                        f"{sorted(record)}; expected one of: {_schema_help()}"
                    )
            if schema == "piqa" and "label" not in record:
                if piqa_labels is None:
                    piqa_labels = _read_piqa_labels(path)
                if record_index < len(piqa_labels):
                    record = dict(record, label=piqa_labels[record_index])
            try:
                items.append(_to_item(schema, record, line_number))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
                if strict:
                    raise TaskFormatError(
                        f"{path}:{line_number}: bad {schema} record: {reason}"
                    ) from exc
                skipped[f"bad {schema} record: {reason}"] += 1
    if schema is None:
        raise TaskFormatError(f"{path}: task file has no records")
    if not items:
        raise TaskFormatError(f"{path}: no usable records ({dict(skipped)})")
    return TaskData(path=path, schema=schema, items=items, skipped=skipped)


def delimiter_for(context: str, delimiter: str | None) -> str:
    """The text between a prompt and a choice: " " unless the prompt already ends in whitespace."""
    if delimiter is not None:
        return delimiter
    return "" if context[-1:].isspace() else " "
