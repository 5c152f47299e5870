"""Options every command shares, and loading the config with the command line on top."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llamapipe.config import PipelineConfig, load_config
from llamapipe.runlock import hold_run_dir

#: Progress and summaries go to stderr; logs (CI, files) get a width that fits the tables.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)
#: Tables that are the command's result go to stdout.
out_console = Console(width=None if sys.stdout.isatty() else 150)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The run's pipeline.toml.", show_default=True)
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a config key, e.g. --set sources.c4.files_per_shard=2 (repeatable).",
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Rebuild stale stages (config or inputs changed).")
]
ExecutorOption = Annotated[
    str | None,
    typer.Option("--executor", help="inprocess | pool | ray | slurm (default: from config)."),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", help="Worker processes (default: from config).")
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait", help="If another command is using the run dir, wait for it instead of failing."
    ),
]
StrictOption = Annotated[
    bool | None,
    typer.Option("--strict/--lenient", help="Stop at the first corrupt record (default: lenient)."),
]


def load_cli_config(
    config_path: Path,
    overrides: list[str] | None = None,
    *,
    executor: str | None = None,
    workers: int | None = None,
    strict: bool | None = None,
    check_inputs: bool = True,
) -> PipelineConfig:
    """pipeline.toml, then --set overrides, then the dedicated flags (which win)."""
    extra = list(overrides or [])
    if executor is not None:
        extra.append(f"executor.kind={executor!r}".replace("'", '"'))
    if workers is not None:
        extra.append(f"executor.workers={workers}")
    if strict is not None:
        extra.append(f"executor.strict={'true' if strict else 'false'}")
    return load_config(config_path, extra, check_inputs=check_inputs)


@contextlib.contextmanager
def run_dir_lock(cfg: PipelineConfig, wait: bool = False) -> Iterator[None]:
    """Hold the run dir's lock for a command that writes it (llamapipe/runlock.py)."""

    def tell(message: str) -> None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)

    with hold_run_dir(cfg.run_dir, wait=wait, on_wait=tell):
        yield
