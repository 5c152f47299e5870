"""Config of the GitHub source: where the code is and the file-level rules applied to it.

Decision keys: ``filter_quality`` and the four quality cuts below. They are applied in the final
stage (``ingest/github``) to the scores the candidates stage stored in each file's meta, so
editing one re-runs that stage alone (``llamapipe data build --force``: the others report
complete). Every other key is read by ``ingest/github/candidates``.
"""

from __future__ import annotations

from pydantic import Field

from llamapipe.config.base import StrictModel
from llamapipe.text.code_filters import (
    MAX_LINE_LENGTH,
    MAX_MEAN_LINE_LENGTH,
    MIN_ALNUM_FRACTION,
    MIN_ALPHA_PER_TOKEN,
    PERMISSIVE_LICENSES,
)


class GitHubSourceConfig(StrictModel):
    enabled: bool = True
    #: Write the documents this source's stages remove to <stage>/removed/*.parquet (None:
    #: as ``[sources] write_removed``); read them with ``llamapipe data sample``.
    write_removed: bool | None = None
    #: Paths or globs: BigQuery-style .jsonl/.jsonl.gz/.parquet exports (one shard per file),
    #: repository checkouts (directories) or repository tarballs (one shard each).
    inputs: list[str] = []
    #: SPDX ids kept (the paper: Apache, BSD, MIT). A file whose license is unknown is dropped.
    licenses: list[str] = sorted(PERMISSIVE_LICENSES)
    #: Keep only files on the RedPajama source-extension whitelist (language from extension).
    filter_extensions: bool = True
    #: Drop vendored (vendor/, node_modules/), lock, minified and generated files.
    drop_vendored: bool = True
    #: Apply the four line-length / character-share rules below (decision key, as they are).
    filter_quality: bool = True
    max_line_length: int = Field(MAX_LINE_LENGTH, ge=1)
    max_mean_line_length: float = Field(MAX_MEAN_LINE_LENGTH, gt=0)
    min_alnum_fraction: float = Field(MIN_ALNUM_FRACTION, ge=0, le=1)
    min_alpha_per_token: float = Field(MIN_ALPHA_PER_TOKEN, ge=0)
    #: Remove license/copyright comment blocks at the top of files.
    strip_headers: bool = True
    #: Files larger than this are skipped unread (counted as too_large).
    max_file_bytes: int = Field(1 << 20, ge=1)
    #: Hash buckets of the global exact-dedup stage (its shards): memory per bucket ~ 1/buckets.
    dedup_buckets: int = Field(16, ge=1)
