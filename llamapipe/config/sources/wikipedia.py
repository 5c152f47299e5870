"""Config of the Wikipedia source (``[sources.wikipedia]`` in pipeline.toml)."""

from __future__ import annotations

from pydantic import Field

from llamapipe.config.base import StrictModel
from llamapipe.recipe import WIKIPEDIA_LANGUAGES


class WikipediaSourceConfig(StrictModel):
    """MediaWiki ``*-pages-articles*.xml(.bz2)`` dumps -> article documents + cited URLs."""

    enabled: bool = True
    #: Write the documents this source's stages remove to <stage>/removed/*.parquet (None:
    #: as ``[sources] write_removed``); read them with ``llamapipe data sample``.
    write_removed: bool | None = None
    #: Dump files, folders of dumps or globs; one shard per dump file.
    inputs: list[str] = []
    #: A ``-multistream`` dump with its index beside it is cut into shards of about this many
    #: compressed bytes, at bz2 stream boundaries.
    split_bytes: int = Field(default=512 * 1024**2, ge=1)
    #: Wiki languages kept (by the dump's dbname). Paper: the 20 languages of section 2.1.
    languages: list[str] = Field(default_factory=lambda: list(WIKIPEDIA_LANGUAGES))
    #: The wiki language of every input dump, replacing what the dump says. For dumps that say
    #: nothing (no <siteinfo>, no ``xxwiki-`` file name), which otherwise fail the stage.
    language_override: str | None = None
    #: Articles whose cleaned text is shorter are dropped. Paper: no such filter (0).
    min_chars: int = Field(default=0, ge=0)
    #: Start each document with the article title on its own line (as the HF wikipedia set).
    title_in_text: bool = True
    #: Write the URLs cited in <ref> tags to refs/*.jsonl for the CommonCrawl reference classifier.
    collect_refs: bool = True
