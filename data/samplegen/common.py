"""Shared helpers: seeded RNGs per source, deterministic compression, the reference-URL list."""

from __future__ import annotations

import bz2
import gzip
import random
from dataclasses import dataclass
from pathlib import Path

from .compose import Composer

SEED = 20990101

DOMAIN_WORDS = ["gazette", "herald", "history", "society", "observer", "archive", "notes",
                "journal", "almanac", "chronicle", "review", "field-club"]
TLDS = ["com", "org", "net", "org.uk", "com"]


def rng_for(name: str, seed: int = SEED) -> random.Random:
    """One independent RNG per source, so regenerating one source never shifts another."""
    return random.Random(f"llamapipe-sample/{seed}/{name}")


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 and no file name, so identical input gives identical bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_gzip(path: Path, data: bytes) -> None:
    write_bytes(path, gzip_bytes(data))


def write_bz2(path: Path, data: bytes) -> None:
    write_bytes(path, bz2.compress(data, compresslevel=9))


def domain(c: Composer) -> str:
    return f"www.{c.place().lower()}-{c.rng.choice(DOMAIN_WORDS)}.{c.rng.choice(TLDS)}"


def slugify(title: str) -> str:
    out = []
    for ch in title.lower():
        out.append(ch if ch.isalnum() else "-")
    return "-".join(p for p in "".join(out).split("-") if p)


@dataclass(frozen=True)
class Reference:
    """A web page cited by an English Wikipedia article; some of them are also in the crawl."""

    url: str
    topic: str
    place: str
    person: str
    title: str
    in_crawl: bool  # True: one CommonCrawl page has exactly this URL (a classifier positive)


N_REFERENCES = 48
N_REFERENCES_IN_CRAWL = 36  # 12 per WET file


def references(seed: int = SEED) -> list[Reference]:
    """The reference URLs shared by the Wikipedia and CommonCrawl samples."""
    c = Composer(rng_for("references", seed))
    out = []
    for i in range(N_REFERENCES):
        topic = c.topic()
        fixed = c.anchor(topic)
        title = c.title(topic, fixed)
        url = f"https://{domain(c)}/{c.rng.randint(2003, 2019)}/{slugify(title)}"
        if i % 3 == 0:
            url += ".html"
        out.append(Reference(url, topic, fixed["place"], fixed["person"], title,
                             in_crawl=i < N_REFERENCES_IN_CRAWL))
    return out
