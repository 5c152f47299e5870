"""Rich tables of evaluation results (perplexity per source, task accuracies)."""

from __future__ import annotations

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


def tasks_table(results: dict[str, Any]) -> Table:
    """One row per task: items, shots, acc and acc_norm with standard errors, chance level."""
    table = Table(title=f"Multiple choice ({results.get('checkpoint_label', 'model')})")
    table.add_column("task")
    table.add_column("schema")
    table.add_column("items", justify="right")
    table.add_column("shots", justify="right")
    table.add_column("acc", justify="right")
    table.add_column("acc_norm", justify="right")
    rows = results.get("tasks", {})
    with_uncond = any(row.get("acc_uncond") is not None for row in rows.values())
    if with_uncond:
        table.add_column("acc_uncond", justify="right")
    table.add_column("chance", justify="right")
    table.add_column("skipped", justify="right")
    for name, row in rows.items():
        cells = [
            name,
            row["schema"],
            str(row["num_items"]),
            str(row["few_shot"]),
            f"{row['acc']:.3f} ± {row['acc_stderr']:.3f}",
            f"{row['acc_norm']:.3f} ± {row['acc_norm_stderr']:.3f}",
        ]
        if with_uncond:
            uncond = row.get("acc_uncond")
            cells.append(
                "-" if uncond is None else f"{uncond:.3f} ± {row['acc_uncond_stderr']:.3f}"
            )
        cells += [f"{row['chance']:.3f}", str(sum(row.get("skipped", {}).values()))]
        table.add_row(*cells)
    return table


def results_tables(results: dict[str, Any]) -> list[Table]:
    """The tables worth showing for these results (empty sections are left out)."""
    tables = []
    if results.get("perplexity"):
        tables.append(perplexity_table(results))
    if results.get("tasks"):
        tables.append(tasks_table(results))
    return tables
