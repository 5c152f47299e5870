"""The source registry: one entry per source, everything the rest of llamapipe asks about it.

Each ``Source`` names its ``[sources.<name>]`` config model, the module whose
``build_stages(cfg) -> list[StageSpec]`` turns its inputs into document shards, its Table 1
share and epochs (Touvron et al. 2023: the default ``[mix]`` weight and the paper columns of
``llamapipe data stats``), whether exact document dedup (sources/document_dedup.py) follows its
own stages, and which sources' output it reads. The config (``SourcesConfig``), the mix
defaults and validation, the stats table, ``data build --source`` and ``llamapipe init`` all
read this table, so adding a source is its module, its config model and one entry here (its
meta fields go in llamapipe/formats/meta_schemas.py).

Modules and config models are named, not imported: a source's module (and its heavy
dependencies) loads only when that source runs, and this package imports nothing of llamapipe,
so the config can read the registry without an import cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig
    from llamapipe.engine import StageSpec


@dataclass(frozen=True)
class Source:
    """One source of the corpus (see the module docstring)."""

    name: str
    #: "module:Class" of the pydantic model of its ``[sources.<name>]`` section.
    config: str
    #: The module with ``build_stages(cfg)``; its last stage writes ``ingest/<name>``.
    module: str
    #: Table 1: share of training tokens, %, and epochs (None: not a source of the paper).
    share: float
    epochs: float | None
    #: Exact document dedup after its own stages: the side files of its last stage to publish
    #: next to the final shards (``{shard}`` for per-shard files). None: no dedup stages (the
    #: source deduplicates its documents itself).
    document_dedup: tuple[str, ...] | None = None
    #: When set, document dedup applies only if this returns True for the source's section.
    dedup_if: Callable[[Any], bool] | None = None
    #: Sources whose output its stages read: they are built before it.
    reads: tuple[str, ...] = ()

    def config_class(self) -> type:
        module, _, name = self.config.partition(":")
        return getattr(importlib.import_module(module), name)

    def build_stages(self, cfg: PipelineConfig) -> list[StageSpec]:
        """Its own stages, followed by document dedup when it has it."""
        stages = importlib.import_module(self.module).build_stages(cfg)
        section = getattr(cfg.sources, self.name)
        dedup = self.document_dedup is not None and (
            self.dedup_if is None or self.dedup_if(section)
        )
        if stages and dedup:
            from llamapipe.sources.document_dedup import with_document_dedup

            return with_document_dedup(stages, self.name, cfg.run_dir, publish=self.document_dedup)
        return stages


def _c4_is_prebuilt(section: Any) -> bool:
    """C4 rebuilt from WET drops repeated three-sentence spans, which removes a repeated page
    whole: it gets no document dedup; prebuilt C4 does."""
    return not section.from_wet


#: In Table 1's order (the order of the config sections and of ``data stats``).
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        # CCNet deduplicates pages (first occurrence of the text) in its own final stage, and
        # trains its LM and reference classifier on the Wikipedia stage's output.
        Source(
            "commoncrawl",
            "llamapipe.config.sources.commoncrawl:CommonCrawlSourceConfig",
            "llamapipe.sources.commoncrawl",
            share=67.0,
            epochs=1.10,
            reads=("wikipedia",),
        ),
        Source(
            "c4",
            "llamapipe.config.sources.c4:C4SourceConfig",
            "llamapipe.sources.c4",
            share=15.0,
            epochs=1.06,
            document_dedup=(),
            dedup_if=_c4_is_prebuilt,
        ),
        # GitHub deduplicates files by content in its own stages.
        Source(
            "github",
            "llamapipe.config.sources.github:GitHubSourceConfig",
            "llamapipe.sources.github",
            share=4.5,
            epochs=0.64,
        ),
        Source(
            "wikipedia",
            "llamapipe.config.sources.wikipedia:WikipediaSourceConfig",
            "llamapipe.sources.wikipedia",
            share=4.5,
            epochs=2.45,
            document_dedup=("refs/{shard}.jsonl",),
        ),
        Source(
            "books",
            "llamapipe.config.sources.books:BooksSourceConfig",
            "llamapipe.sources.books",
            share=4.5,
            epochs=2.23,
            document_dedup=("removed_pairs.jsonl",),
        ),
        Source(
            "arxiv",
            "llamapipe.config.sources.arxiv:ArxivSourceConfig",
            "llamapipe.sources.arxiv",
            share=2.5,
            epochs=1.06,
            document_dedup=(),
        ),
        Source(
            "stackexchange",
            "llamapipe.config.sources.stackexchange:StackExchangeSourceConfig",
            "llamapipe.sources.stackexchange",
            share=2.0,
            epochs=1.03,
            document_dedup=(),
        ),
    )
}


def build_order(sources: dict[str, Source]) -> tuple[str, ...]:
    """Table 1 order, each source preceded by the sources it reads (Wikipedia before CCNet)."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise ValueError(f"sources read each other in a cycle: {' -> '.join(path + (name,))}")
        for upstream in sources[name].reads:
            visit(upstream, path + (name,))
        order.append(name)

    for name in sources:
        visit(name, ())
    return tuple(order)


#: The order sources are built in.
SOURCE_ORDER: tuple[str, ...] = build_order(SOURCES)
#: Table 1 columns, by source (what ``[mix] weights`` defaults to).
TABLE1_SHARES: dict[str, float] = {name: s.share for name, s in SOURCES.items()}
TABLE1_EPOCHS: dict[str, float | None] = {name: s.epochs for name, s in SOURCES.items()}


def source_stages(cfg: PipelineConfig, names: list[str] | None = None) -> list[StageSpec]:
    """The stages of the enabled sources (or of `names`), in build order."""
    wanted = cfg.sources.enabled() if names is None else [n for n in SOURCE_ORDER if n in names]
    stages: list[StageSpec] = []
    for name in wanted:
        stages.extend(SOURCES[name].build_stages(cfg))
    return stages


def final_stage_name(source: str) -> str:
    """The stage whose shards/ hold a source's final documents."""
    return f"ingest/{source}"
