"""The primitives every dedup in llamapipe shares: 64-bit hashes, one URL normaliser, and
"keep the first occurrence" over an array of keys.

Two hashes, because files already on disk depend on each: BLAKE2b-64 (`hash64`) is the key of
every dedup llamapipe designed itself (GitHub file contents, C4 spans, book shingles, the mix's
keys); SHA-1's first 8 bytes (`sha1_hash64`) are CCNet's line hash, kept for the Common Crawl
line and document hashes so that they match CCNet's. Both read the digest little-endian; a
collision among n keys has a probability of about n^2 / 2^65.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Bytes of a digest kept as the key (uint64).
HASH_BYTES = 8


def hash64(data: bytes) -> int:
    """A stable 64-bit content key: BLAKE2b-64, little-endian (Python's ``hash`` is salted per
    process, so it cannot decide what many workers must agree on)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=HASH_BYTES).digest(), "little")


def sha1_hash64(data: bytes) -> int:
    """CCNet's 64-bit hash: SHA-1, first 8 bytes little-endian."""
    return int.from_bytes(hashlib.sha1(data).digest()[:HASH_BYTES], "little")


def normalize_url(url: str) -> str:
    """The part of a URL that identifies a page across crawls: no scheme, fragment, trailing /,
    host lowercased and without "www.".

    C4 and CCNet were extracted from the same crawl with different tools, and Wikipedia editors
    cite pages in their own spelling, so the same page can appear as http vs https, with or
    without "www." or a trailing slash; those count as one page.
    """
    url = url.strip().split("#", 1)[0]
    for scheme in ("https://", "http://"):
        if url.lower().startswith(scheme):
            url = url[len(scheme) :]
            break
    host, _, path = url.partition("/")
    host = host.lower().removeprefix("www.")
    return (host + "/" + path).rstrip("/")


def first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Boolean mask, True at the first position of each distinct key ("first occurrence wins":
    the order of ``keys`` is the order that "first" refers to).

    A stable sort puts equal keys together in their original order, so the head of each run is
    the first occurrence; no array of unique keys is built.
    """
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable")
    first_sorted = np.ones(keys.size, dtype=bool)
    if keys.size > 1:
        ranked = keys[order]
        np.not_equal(ranked[1:], ranked[:-1], out=first_sorted[1:])
        del ranked
    first = np.empty(keys.size, dtype=bool)
    first[order] = first_sorted
    return first
