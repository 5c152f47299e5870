"""Rich tables of evaluation results: perplexity per source, scoring tasks, generative tasks,
and the paper's own layout (one table per group of Tables 3-8, a row per checkpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table


def perplexity_table(results: dict[str, Any]) -> Table:
    """One row per source (and "all"): tokens scored, mean loss, perplexity."""
    table = Table(title=f"Held-out perplexity ({results.get('checkpoint_label', 'model')})")
    table.add_column("source")
    table.add_column("tokens", justify="right")
    table.add_column("loss (nats)", justify="right")
    table.add_column("perplexity", justify="right")
    for source, row in results.get("perplexity", {}).items():
        style = "bold" if source == "all" else None
        table.add_row(
            source,
            f"{row['tokens']:,}",
            f"{row['loss']:.4f}",
            f"{row['perplexity']:.2f}",
            style=style,
        )
    return table


SCORED_KINDS = ("multiple_choice", "partial", "lambada")


def _kind(row: dict[str, Any]) -> str:
    return row.get("kind", "multiple_choice")


def _pm(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    stderr = row.get(f"{key}_stderr")
    return f"{value:.3f} ± {stderr:.3f}" if stderr is not None else f"{value:.3f}"


def tasks_table(results: dict[str, Any]) -> Table:
    """Tasks scored by likelihood: items, shots, acc and acc_norm (± standard error), chance."""
    table = Table(
        title=f"Multiple choice and scored tasks ({results.get('checkpoint_label', 'model')})"
    )
    table.add_column("task")
    table.add_column("schema")
    table.add_column("items", justify="right")
    table.add_column("shots", justify="right")
    table.add_column("acc", justify="right")
    table.add_column("acc_norm", justify="right")
    rows = {n: r for n, r in results.get("tasks", {}).items() if _kind(r) in SCORED_KINDS}
    with_uncond = any(row.get("acc_uncond") is not None for row in rows.values())
    if with_uncond:
        table.add_column("acc_uncond", justify="right")
    table.add_column("chance / ppl", justify="right")
    table.add_column("skipped", justify="right")
    for name, row in rows.items():
        cells = [
            name,
            row.get("schema", ""),
            str(row["num_items"]),
            str(row["few_shot"]),
            _pm(row, "acc"),
            _pm(row, "acc_norm"),
        ]
        if with_uncond:
            cells.append(_pm(row, "acc_uncond"))
        if "perplexity" in row:
            cells.append(f"ppl {row['perplexity']:.1f}")
        else:
            cells.append(f"{row['chance']:.3f}")
        cells.append(str(sum(row.get("skipped", {}).values())))
        table.add_row(*cells)
    return table


def generative_table(results: dict[str, Any]) -> Table:
    """Generated answers: exact match / accuracy, maj@k, pass@k."""
    table = Table(title=f"Generative tasks ({results.get('checkpoint_label', 'model')})")
    for column in ("task", "kind", "items", "shots", "greedy", "sampled", "notes"):
        table.add_column(column, justify="left" if column in ("task", "kind", "notes") else "right")
    for name, row in results.get("tasks", {}).items():
        if _kind(row) in SCORED_KINDS:
            continue
        sampled = ", ".join(
            f"{key} {row[key]:.3f}"
            for key in row
            if key.startswith(("maj@", "pass@")) and key != "pass@1"
        )
        greedy = _pm(row, row.get("primary", "acc"))
        notes = ""
        if "em_squad" in row:
            notes = f"em (articles removed) {row['em_squad']:.3f}"
        if _kind(row) == "code":
            greedy = f"pass@1 {row['pass@1']:.3f}"
            notes = f"n={row['samples']}, T={row['temperature']}"
        table.add_row(
            name, _kind(row), str(row["num_items"]), str(row["few_shot"]), greedy, sampled, notes
        )
    return table


#: The paper's evaluation tables: group -> (task names it knows, in its column order). A task
#: of the run lands in the group of its kind, at the column its name matches, else at the end.
PAPER_GROUPS = {
    "Common sense reasoning (Table 3)": (
        ("boolq", "piqa", "siqa", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "obqa"),
        ("multiple_choice", "partial"),
    ),
    "Closed-book question answering (Tables 4-5)": (
        ("naturalquestions", "nq", "triviaqa"),
        ("qa",),
    ),
    "Language modelling: LAMBADA": (("lambada",), ("lambada",)),
    "Mathematical reasoning (Table 7)": (("math", "gsm8k"), ("math", "gsm8k")),
    "Code generation (Table 8)": (("humaneval", "mbpp"), ("code",)),
}
#: Multiple-choice tasks the paper scores with length normalisation (acc_norm).
_NORMED = ("hellaswag", "piqa", "arc", "obqa", "openbookqa", "siqa")


def _normalised_name(name: str) -> str:
    return name.lower().replace("-", "_").replace("openbookqa", "obqa")


def paper_cells(name: str, row: dict[str, Any]) -> list[tuple[str, str]]:
    """(column header, value in %) of one task as the paper reports it."""
    kind = _kind(row)
    shots = f"{row['few_shot']}-shot"
    if kind == "multiple_choice":
        if row.get("acc_uncond") is not None:
            metric = "acc_uncond"
        elif any(key in _normalised_name(name) for key in _NORMED):
            metric = "acc_norm"
        else:
            metric = "acc"
        return [(f"{name} ({shots}, {metric})", f"{100 * row[metric]:.1f}")]
    if kind in ("partial", "lambada"):
        return [(f"{name} ({shots}, acc)", f"{100 * row['acc']:.1f}")]
    if kind == "code":
        return [
            (f"{name} {key}", f"{100 * row[key]:.1f}") for key in row if key.startswith("pass@")
        ]
    primary = row.get("primary", "acc")
    cells = [(f"{name} ({shots}, {primary})", f"{100 * row[primary]:.1f}")]
    cells += [(f"{name} {key}", f"{100 * row[key]:.1f}") for key in row if key.startswith("maj@")]
    return cells


def _column_rank(name: str, known: Sequence[str]) -> int:
    """Position of a task among the paper's columns (unknown names last, in run order)."""
    normal = _normalised_name(name)
    for index, key in enumerate(known):
        if key in normal:
            return index
    return len(known)


def paper_tables(runs: Sequence[dict[str, Any]]) -> list[Table]:
    """The paper's layout: a table per group, a row per checkpoint, a column per task/metric.

    ``runs`` are results dicts (several checkpoints of a run: a row each). Values are percent.
    """
    tables = []
    for title, (known, kinds) in PAPER_GROUPS.items():
        columns: list[str] = []
        rows: list[tuple[str, dict[str, str]]] = []
        for results in runs:
            entries = [
                (name, row) for name, row in results.get("tasks", {}).items() if _kind(row) in kinds
            ]
            cells: dict[str, str] = {}
            for name, row in sorted(
                entries, key=lambda item, known=known: _column_rank(item[0], known)
            ):
                for header, value in paper_cells(name, row):
                    cells[header] = value
                    if header not in columns:
                        columns.append(header)
            if cells:
                rows.append((str(results.get("checkpoint_label", "model")), cells))
        if not rows:
            continue
        table = Table(title=title)
        table.add_column("checkpoint")
        for column in columns:
            table.add_column(column, justify="right")
        for label, cells in rows:
            table.add_row(label, *(cells.get(column, "-") for column in columns))
        tables.append(table)
    return tables


def results_tables(results: dict[str, Any]) -> list[Table]:
    """The tables worth showing for these results (empty sections are left out)."""
    tables = []
    if results.get("perplexity"):
        tables.append(perplexity_table(results))
    tasks = results.get("tasks", {})
    if any(_kind(row) in SCORED_KINDS for row in tasks.values()):
        tables.append(tasks_table(results))
    if any(_kind(row) not in SCORED_KINDS for row in tasks.values()):
        tables.append(generative_table(results))
    tables.extend(paper_tables([results]))
    return tables
