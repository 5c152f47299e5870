"""`llamapipe data build`, `llamapipe data stats` and `llamapipe data sample`."""

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
    """Per-source documents, bytes, tokens, share of the mix and epochs, next to Table 1;
    then the CPU seconds of each filter of each stage.

    Example: llamapipe data stats -c pipeline.toml
    """
    from llamapipe.mix.stats import render_data_stats, render_filter_cpu

    cfg = load_cli_config(config, overrides, check_inputs=False)
    out_console.print(render_data_stats(cfg))
    cpu = render_filter_cpu(cfg)
    if cpu is not None:
        out_console.print(cpu)


@data_app.command("sample")
def sample_command(
    stage: Annotated[str, typer.Argument(help="A stage of the run, e.g. ingest/commoncrawl.")],
    removed: Annotated[
        str | None,
        typer.Option(
            "--removed",
            help="Sample removed documents with this reason (or filter name); 'any' for all.",
        ),
    ] = None,
    kept: Annotated[bool, typer.Option("--kept", help="Sample kept documents (default).")] = False,
    number: Annotated[int, typer.Option("--number", "-n", min=1, help="Documents.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draw.")] = 0,
    chars: Annotated[
        int, typer.Option("--chars", min=1, help="Characters of text shown per document.")
    ] = 600,
    full: Annotated[bool, typer.Option("--full", help="Show the whole text.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per document (whole text).")
    ] = False,
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
) -> None:
    """A random sample of the documents a stage kept, or removed for a reason, to read.

    Removed documents exist when the stage ran with write_removed = true ([sources] or
    [sources.<name>]); those of ingest/<source> are every removal of the source's stages.

    Example: llamapipe data sample ingest/commoncrawl --removed perplexity_bucket_tail -n 5
    """
    import json

    from llamapipe.filters import sample
    from llamapipe.pipeline import all_stages

    if kept and removed is not None:
        raise ConfigError("--kept and --removed exclude each other: choose one")
    cfg = load_cli_config(config, overrides, check_inputs=False)
    known = [s.name for s in all_stages(cfg)]
    stage_dir = sample.check_stage(cfg.run_dir, stage, known)
    if removed is None:
        drawn = sample.sample_kept(stage_dir, stage, number, seed)
    else:
        which = None if removed == "any" else removed
        # a source's final stage stands for all its stages, as its stats.json does
        stages = [s for s in known if s.startswith(f"{stage}/")] + [stage]
        drawn = sample.sample_removed(cfg.run_dir, stage, stages, which, number, seed)
    if as_json:  # plain lines, never wrapped or styled
        for s in drawn:
            typer.echo(json.dumps(s.to_json(), ensure_ascii=False))
        return
    out_console.print(sample.render(drawn, None if full else chars))
