"""Remote WET files: a verified cached copy, or a stream when no cache folder is set.

Both go through the shared I/O layer (llamapipe/io/cache.py, llamapipe/io/open.py); what is
WET-specific here is the default cache folder and the choice between the two.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from llamapipe.formats.wet.listing import is_url
from llamapipe.io import RetryPolicy, fetch_cached, open_raw


def download(
    url: str,
    cache_dir: Path | None,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
) -> Path:
    """A verified cached copy of `url` (llamapipe.io.cache): retried with backoff, resumed,
    length- and digest-checked, never kept when short.

    Common Crawl throttles bursts (HTTP 503/429), so failures back off 1, 2, 4 ... seconds
    times a random factor, spreading many workers' retries apart.
    """
    default_cache = Path(os.environ.get("TMPDIR", "/tmp")) / "llamapipe-cc"
    policy = RetryPolicy(retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)
    return fetch_cached(url, Path(cache_dir) if cache_dir else default_cache, policy)


def open_wet(source: str | Path, cache_dir: Path | None = None, retries: int = 5) -> IO[bytes]:
    """A seekable binary stream of one WET input: a local file, a verified cached copy when
    `cache_dir` is set, else the remote object streamed (no local copy)."""
    where = str(source)
    if not is_url(where):
        return open(where, "rb")
    if cache_dir is not None:
        return open(download(where, cache_dir, retries), "rb")
    return open_raw(where, RetryPolicy.from_env(retries))
