"""Task files beyond plain multiple choice: the item of each schema and how a record becomes one.

llm-foundry's local JSONL formats (the files in shared/realdata/eval), each with its task kind:

- winogrande ``{context_options, continuation, gold}`` -> "partial": the shared continuation
  scored after each option-filled context (lm-eval's winogrande "partial scoring");
- lambada ``{context, continuation}`` -> "lambada": last-word accuracy and perplexity;
- triviaqa ``{context, answer, aliases}`` -> "qa": greedy answer until a newline, exact match
  against any alias (Natural Questions in the same layout works the same);
- math ``{context, answer, chain_of_thought, category}`` -> "math": the boxed final answer;
- gsm8k ``{context, chain_of_thought, answer}`` -> "gsm8k": the final number of the answer;
- humaneval ``{prompt, entry_point, test}`` -> "code": completions run against their tests.

The multiple-choice schemas stay in tasks.py; ``load_task`` there reads every kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartialItem:
    """WinoGrande: one context per option, one continuation shared by all of them."""

    contexts: tuple[str, ...]
    continuation: str
    gold: int
    line: int


@dataclass(frozen=True)
class LambadaItem:
    """A passage and its last word (the continuation, without the leading space)."""

    context: str
    continuation: str
    line: int


@dataclass(frozen=True)
class GenerativeItem:
    """A question to answer by generation: the prompt, accepted answers, optional solution.

    ``answers`` are the aliases (QA) or the single final answer (math); ``solution`` is the
    worked chain of thought, used in few-shot examples of math tasks.
    """

    context: str
    answers: tuple[str, ...]
    line: int
    solution: str = ""


@dataclass(frozen=True)
class CodeItem:
    """HumanEval: a function signature + docstring to complete, its tests and entry point."""

    task_id: str
    prompt: str
    entry_point: str
    test: str
    line: int
    canonical_solution: str = ""


def _text(record: dict, key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, got {type(value).__name__}")
    return value


def partial_item(record: dict, line: int) -> PartialItem:
    contexts = record["context_options"]
    if not isinstance(contexts, list) or len(contexts) < 2:
        raise ValueError("context_options must be a list of at least 2 strings")
    if not all(isinstance(c, str) and c.strip() for c in contexts):
        raise ValueError("every context option must be a non-empty string")
    gold = record["gold"]
    if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(contexts):
        raise ValueError(f"gold {gold!r} is not an index into {len(contexts)} context options")
    continuation = _text(record, "continuation")
    if not continuation.strip():
        raise ValueError("continuation is empty")
    return PartialItem(tuple(contexts), continuation, gold, line)


def lambada_item(record: dict, line: int) -> LambadaItem:
    context, continuation = _text(record, "context"), _text(record, "continuation")
    if not context.strip() or not continuation.strip():
        raise ValueError("context and continuation must be non-empty")
    return LambadaItem(context, continuation.strip(), line)


def qa_item(record: dict, line: int) -> GenerativeItem:
    aliases = record["aliases"]
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ValueError("aliases must be a list of strings")
    answer = _text(record, "answer")
    answers = tuple(dict.fromkeys([answer, *aliases]))  # the answer first, no duplicates
    return GenerativeItem(_text(record, "context"), answers, line)


def math_item(record: dict, line: int) -> GenerativeItem:
    answer = record["answer"]
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError(f"answer {answer!r} is not a non-empty string")
    solution = record.get("chain_of_thought") or ""
    if not isinstance(solution, str):
        raise ValueError("chain_of_thought must be a string")
    return GenerativeItem(_text(record, "context"), (answer.strip(),), line, solution)


def code_item(record: dict, line: int) -> CodeItem:
    prompt, entry_point, test = (_text(record, k) for k in ("prompt", "entry_point", "test"))
    if not entry_point.isidentifier():
        raise ValueError(f"entry_point {entry_point!r} is not a Python identifier")
    return CodeItem(
        task_id=str(record.get("task_id", f"line {line}")),
        prompt=prompt,
        entry_point=entry_point,
        test=test,
        line=line,
        canonical_solution=str(record.get("canonical_solution") or ""),
    )


#: schema -> (identifying keys, kind, converter). Checked before the multiple-choice schemas.
SCHEMAS = {
    "winogrande": ({"context_options", "continuation", "gold"}, "partial", partial_item),
    "humaneval": ({"prompt", "entry_point", "test"}, "code", code_item),
    "triviaqa": ({"context", "answer", "aliases"}, "qa", qa_item),
    "math": ({"context", "answer", "category"}, "math", math_item),
    "gsm8k": ({"context", "chain_of_thought", "answer"}, "gsm8k", math_item),
    "lambada": ({"context", "continuation"}, "lambada", lambada_item),
}
