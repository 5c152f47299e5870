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

#: Sources whose stages are followed by exact document dedup (sources/document_dedup.py), with
#: the side files of their last stage to publish next to the final shards. CommonCrawl and
#: GitHub deduplicate documents in their own stages (first occurrence of the page text, of the
#: file content); C4 rebuilt from WET drops repeated three-sentence spans, which removes a
#: repeated page whole, and is not wrapped either.
DOCUMENT_DEDUP: dict[str, tuple[str, ...]] = {
    "wikipedia": ("refs/{shard}.jsonl",),
    "c4": (),
    "books": ("removed_pairs.jsonl",),
    "arxiv": (),
    "stackexchange": (),
}


def source_stages(cfg: PipelineConfig, names: list[str] | None = None) -> list[StageSpec]:
    """The stages of the enabled sources (or of `names`), in build order."""
    wanted = cfg.sources.enabled() if names is None else [n for n in SOURCE_ORDER if n in names]
    stages: list[StageSpec] = []
    for name in wanted:
        module = importlib.import_module(SOURCE_MODULES[name])
        own = module.build_stages(cfg)
        if own and name in DOCUMENT_DEDUP and not _rebuilds_c4(cfg, name):
            from llamapipe.sources.document_dedup import with_document_dedup

            own = with_document_dedup(own, name, cfg.run_dir, publish=DOCUMENT_DEDUP[name])
        stages.extend(own)
    return stages


def _rebuilds_c4(cfg: PipelineConfig, name: str) -> bool:
    return name == "c4" and bool(cfg.sources.c4.from_wet)


def final_stage_name(source: str) -> str:
    """The stage whose shards/ hold a source's final documents."""
    return f"ingest/{source}"
