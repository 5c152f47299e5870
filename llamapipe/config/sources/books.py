"""Config of the Books source (``[sources.books]`` in pipeline.toml)."""

from __future__ import annotations

from pydantic import Field

from llamapipe.config.base import StrictModel

#: Paper, section 2.1: "removing books with more than 90% content overlap".
PAPER_CONTAINMENT_THRESHOLD = 0.9


class BooksSourceConfig(StrictModel):
    """Gutenberg-style plain-text books and ``{title, text}`` JSONL -> deduplicated books."""

    enabled: bool = True
    #: Write the documents this source's stages remove to <stage>/removed/*.parquet (None:
    #: as ``[sources] write_removed``); read them with ``llamapipe data sample``.
    write_removed: bool | None = None
    #: Folders of ``*.txt`` books (searched recursively), single ``.txt`` files, ``.jsonl`` /
    #: ``.jsonl.gz`` files of ``{"title", "text"}``, or globs.
    inputs: list[str] = []
    #: A book is removed when more than this share of its word shingles is found in a kept
    #: book (containment, not Jaccard). Paper: 0.9.
    containment_threshold: float = Field(default=PAPER_CONTAINMENT_THRESHOLD, gt=0.0, le=1.0)
    #: Word n-gram size of the shingles. RedPajama/paper practice: 5.
    shingle_size: int = Field(default=5, ge=1)
    #: MinHash permutations and the Jaccard threshold at which LSH proposes a candidate pair;
    #: lower finds more candidates (every one is then checked exactly).
    num_perm: int = Field(default=128, ge=16)
    lsh_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    #: Books with fewer words after cleaning are dropped. Paper: no such filter (0).
    min_words: int = Field(default=0, ge=0)
    #: Text files per shard of the cleaning stage.
    files_per_shard: int = Field(default=32, ge=1)
    #: A JSONL file larger than this is split into shards of this many bytes (by line
    #: start); a .jsonl.gz is always one shard.
    jsonl_shard_bytes: int = Field(default=256 * 1024**2, ge=1024)
