"""`llamapipe init DIR`: a new run folder with a commented pipeline.toml."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from llamapipe.cli.common import console
from llamapipe.errors import ConfigError
from llamapipe.sources import SOURCES

#: A data/ folder per source of the registry, in Table 1 order, and runs/.
LAYOUT = (*(f"data/{name}" for name in SOURCES), "runs")


def init_command(
    directory: Annotated[Path, typer.Argument(help="Folder to create (may exist, if empty).")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing pipeline.toml.")
    ] = False,
) -> None:
    """Create a run folder: a commented pipeline.toml and the data/ layout it points to.

    Example: llamapipe init my-run && cd my-run && llamapipe data build
    """
    target = directory / "pipeline.toml"
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists (use --force to overwrite)")
    directory.mkdir(parents=True, exist_ok=True)
    for sub in LAYOUT:
        (directory / sub).mkdir(parents=True, exist_ok=True)
    template = resources.files("llamapipe.config").joinpath("template.toml").read_text("utf-8")
    target.write_text(template, encoding="utf-8")
    console.print(
        f"wrote {target}; put your inputs under {directory / 'data'}/ and run "
        f"`llamapipe run -c {target}`"
    )
