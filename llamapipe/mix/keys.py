"""Stable 64-bit hashes: the same document gets the same key on every machine and every run.

Python's ``hash`` is salted per process, so it cannot decide a split that many workers must
agree on; BLAKE2b truncated to 8 bytes (``hash64`` of llamapipe/text/dedup_keys.py) is stable,
fast and well mixed.
"""

from __future__ import annotations

from llamapipe.text.dedup_keys import hash64, normalize_url

#: Keys are uint64; 0 is reserved for "no key" (a document without a URL).
NO_KEY = 0


def stable_hash64(*parts: str | int | bytes) -> int:
    """A uint64 hash of the parts (never 0, which means "no key")."""
    blobs = [part if isinstance(part, bytes) else str(part).encode("utf-8") for part in parts]
    # each part prefixed by its length, so that ("ab", "c") and ("a", "bc") differ
    return hash64(b"".join(len(data).to_bytes(8, "little") + data for data in blobs)) or 1


def url_key(url: object) -> int:
    if not isinstance(url, str) or not url.strip():
        return NO_KEY
    return stable_hash64("url", normalize_url(url))


def normalize_text(text: str) -> str:
    """The text that decides "exact duplicate": runs of whitespace (newlines too) as one space,
    stripped. Copies of a document re-wrapped or re-indented by another dump are the same text."""
    return " ".join(text.split())


def text_key(text: str) -> int:
    """The key of a document's normalised text: per-source dedup and held-out twins use it."""
    return stable_hash64("text", normalize_text(text))


def stable_seed(seed: int, *names: str) -> list[int]:
    """A numpy SeedSequence entropy list for (seed, names): independent streams per name."""
    return [int(seed)] + [stable_hash64("seed", name) for name in names]
