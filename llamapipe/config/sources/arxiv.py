"""Config of the ArXiv source: where the LaTeX sources are and the archive safety bounds."""

from __future__ import annotations

from pydantic import Field

from llamapipe.config.base import StrictModel


class ArxivSourceConfig(StrictModel):
    enabled: bool = True
    #: Write the documents this source's stages remove to <stage>/removed/*.parquet (None:
    #: as ``[sources] write_removed``); read them with ``llamapipe data sample``.
    write_removed: bool | None = None
    #: Paths or globs: per-paper source downloads (.gz of a tar or of one .tex, .tar.gz),
    #: bulk tars of those (arXiv_src_*.tar), .tex files, or directories. One shard per input.
    inputs: list[str] = []
    #: A LaTeX member larger than this is rejected (counted members_skipped_member_too_large).
    max_member_bytes: int = Field(16 << 20, ge=1024)
    #: A paper whose archive decompresses to more than this is rejected (too_large): bombs.
    max_total_bytes: int = Field(512 << 20, ge=1024)
    #: A paper archive with more members than this is rejected (too_large).
    max_members: int = Field(5000, ge=1)
    #: Papers whose cleaned body is shorter than this many characters are dropped (too_short).
    min_chars: int = Field(0, ge=0)
