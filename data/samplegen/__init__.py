"""Generator for llamapipe's bundled, original sample inputs (see data/README.md)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from .common import SEED

# Source name -> module with `generate(out: Path, seed: int) -> dict[str, int]` (file -> count).
SOURCES = ["commoncrawl", "c4", "github", "wikipedia", "books", "arxiv", "stackexchange", "eval"]


def generate_all(out: Path, only: list[str] | None = None, seed: int | None = None) -> dict[str, int]:
    """Generate the chosen sources (all by default) under `out`; returns item counts per file."""
    counts: dict[str, int] = {}
    for name in only or SOURCES:
        gen: Callable[..., dict[str, int]] = import_module(f".{name}", __name__).generate
        counts.update(gen(Path(out), seed=SEED if seed is None else seed))
    return counts
