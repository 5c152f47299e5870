"""One module per source; each turns its real input format into document shards.

Every module exposes ``build_stages(cfg) -> list[StageSpec]``; the registry below maps source
names (the keys of ``[sources.*]`` in pipeline.toml) to modules, imported only when used so
that a source's heavy dependencies load only when that source runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from llamapipe.recipe import SOURCE_ORDER

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig
    from llamapipe.engine import StageSpec

SOURCE_MODULES: dict[str, str] = {
    "wikipedia": "llamapipe.sources.wikipedia",
    "commoncrawl": "llamapipe.sources.commoncrawl",
    "c4": "llamapipe.sources.c4",
    "github": "llamapipe.sources.github",
    "books": "llamapipe.sources.books",
    "arxiv": "llamapipe.sources.arxiv",
    "stackexchange": "llamapipe.sources.stackexchange",
}
assert tuple(SOURCE_MODULES) == SOURCE_ORDER


def source_stages(cfg: PipelineConfig, names: list[str] | None = None) -> list[StageSpec]:
    """The stages of the enabled sources (or of `names`), in build order."""
    wanted = cfg.sources.enabled() if names is None else [n for n in SOURCE_ORDER if n in names]
    stages: list[StageSpec] = []
    for name in wanted:
        module = importlib.import_module(SOURCE_MODULES[name])
        stages.extend(module.build_stages(cfg))
    return stages


def final_stage_name(source: str) -> str:
    """The stage whose shards/ hold a source's final documents."""
    return f"ingest/{source}"
