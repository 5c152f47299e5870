"""`llamapipe data build` and `llamapipe data stats`."""

from __future__ import annotations

from typing import Annotated

import typer

from llamapipe.cli.common import (
    ConfigOption,
    ExecutorOption,
    ForceOption,
    SetOption,
    StrictOption,
    WaitOption,
    WorkersOption,
    console,
    load_cli_config,
    out_console,
    run_dir_lock,
)
from llamapipe.engine import run_stages
from llamapipe.errors import ConfigError
from llamapipe.pipeline import data_stages
from llamapipe.sources import SOURCE_ORDER

data_app = typer.Typer(help="Build the corpus: ingest every source, CCNet, mixing.")

SourceOption = Annotated[
    list[str] | None,
    typer.Option("--source", "-s", help=f"Only these sources ({', '.join(SOURCE_ORDER)})."),
]


@data_app.command("build")
def build_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    source: SourceOption = None,
    force: ForceOption = False,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    strict: StrictOption = None,
    wait: WaitOption = False,
) -> None:
    """Ingest the enabled sources into document shards under <run>/ingest/.

    Complete stages are skipped, killed ones resume from their finished shards.

    Example: llamapipe data build -c pipeline.toml --source c4 --workers 2
    """
    cfg = load_cli_config(config, overrides, executor=executor, workers=workers, strict=strict)
    for name in source or []:
        if name not in SOURCE_ORDER:
            raise ConfigError(f"--source {name!r}: unknown source; choose from {SOURCE_ORDER}")
    stages = data_stages(cfg, source)
    if not stages:
        console.print("no enabled source has inputs: nothing to build")
        return
    with run_dir_lock(cfg, wait):
        run_stages(stages, cfg.run_dir, force=force, console=console, **cfg.executor_kwargs())


@data_app.command("stats")
def stats_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
) -> None:
    """Per-source documents, bytes, tokens, share of the mix and epochs, next to Table 1.

    Example: llamapipe data stats -c pipeline.toml
    """
    from llamapipe.mix.stats import render_data_stats

    cfg = load_cli_config(config, overrides, check_inputs=False)
    out_console.print(render_data_stats(cfg))
