"""Config of the StackExchange source (``[sources.stackexchange]`` in pipeline.toml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llamapipe.config.base import StrictModel

#: Paper, section 2.1: "we kept the data from the 28 largest websites".
PAPER_MAX_SITES = 28


class StackExchangeSourceConfig(StrictModel):
    """Posts.xml / ``<site>.7z`` dumps -> one document per question with its ranked answers."""

    enabled: bool = True
    #: Write the documents this source's stages remove to <stage>/removed/*.parquet (None:
    #: as ``[sources] write_removed``); read them with ``llamapipe data sample``.
    write_removed: bool | None = None
    #: ``<site>.7z`` archives, ``*Posts.xml`` files, site folders holding Posts.xml, folders of
    #: those, or globs. One shard per site.
    inputs: list[str] = []
    #: Keep only the N largest sites. Paper: 28.
    max_sites: int = Field(default=PAPER_MAX_SITES, ge=1)
    #: "posts" counts the rows of each Posts.xml (extracts archives once more); "bytes" ranks by
    #: the uncompressed Posts.xml size read from the archive header, without extracting.
    rank_by: Literal["posts", "bytes"] = "posts"
    #: Keep questions nobody answered (as "Q: ..." only). Paper: not stated; RedPajama kept them.
    include_unanswered: bool = True
    #: Where archives are extracted and threads sorted (needs ~ the size of Posts.xml); "" = a
    #: folder beside the shard's temp folder in the run dir (never $TMPDIR).
    work_dir: str = ""
    #: Refuse to extract a Posts.xml larger than this (decompression-bomb and disk guard).
    max_extract_bytes: int = Field(default=256 * 1024**3, ge=1)
