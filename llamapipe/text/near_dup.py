"""Book-level near-duplicate removal: MinHash LSH candidates, then exact containment.

The paper removes books "with more than 90% content overlap". Overlap is read as containment,
C(A in B) = |S(A) & S(B)| / |S(A)| over word 5-gram shingles S: two editions of one book (new
front matter, a preface, corrected typos) share ~95% of the smaller one's shingles, while
their Jaccard similarity is lower (~0.85-0.9) because the extra material of *both* sides
counts in the union. So Jaccard only finds candidates, with a looser LSH threshold (0.5 by
default), and the exact containment on the full shingle sets decides.

Decision order makes the result deterministic and keeps the better copy: books are visited
longest first (more words), then newer release, then id; each is checked against the books
already kept and removed if its containment in one of them is above the threshold ("more
than 90%"). So of two
editions the longer (then the newer) one stays, whatever the input order.

Limits: LSH at Jaccard 0.5 finds a 90%-contained book only while the containing book is at
most ~1.6x larger; an anthology swallowing a short story is not a candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from llamapipe.text.dedup_keys import hash64

#: Paper: books with more than 90% content overlap are removed.
PAPER_CONTAINMENT_THRESHOLD = 0.9
DEFAULT_SHINGLE_SIZE = 5
DEFAULT_NUM_PERM = 128
DEFAULT_LSH_THRESHOLD = 0.5
MINHASH_SCHEME = "affine64"

_WORD_RE = re.compile(r"\w+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio multiplier for the rolling n-gram hash


def _word_hash(word: str) -> int:
    """A stable 64-bit hash of a word (Python's hash() is salted per process)."""
    return hash64(word.encode("utf-8"))


def word_shingles(text: str, size: int = DEFAULT_SHINGLE_SIZE) -> np.ndarray:
    """Sorted unique uint64 hashes of the lowercased word ``size``-grams of ``text``.

    Words are hashed once each (books repeat their vocabulary), and an n-gram hash is a
    position-weighted combination of its word hashes, computed for all positions at once with
    wrapping uint64 arithmetic.
    """
    words = _WORD_RE.findall(text.lower())
    if not words:
        return np.empty(0, dtype=np.uint64)
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.int64)
    table = np.fromiter((_word_hash(w) for w in vocab), dtype=np.uint64, count=len(vocab))
    hashes = table[ids]
    if len(hashes) < size:
        size = len(hashes)
    count = len(hashes) - size + 1
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(size):
            combined = combined * _MIX + hashes[k : k + count]
        combined ^= combined >> np.uint64(29)
    return np.unique(combined)


def minhash_signature(
    shingles: np.ndarray, num_perm: int = DEFAULT_NUM_PERM, seed: int = 1
) -> np.ndarray:
    """The MinHash signature (uint64[num_perm]) of a shingle set."""
    mh = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme=MINHASH_SCHEME)
    if len(shingles):
        mh.update_batch(shingles.tolist())
    return mh.hashvalues.copy()


def containment(inner: np.ndarray, outer: np.ndarray) -> float:
    """Share of ``inner``'s shingles found in ``outer`` (both sorted unique arrays)."""
    if len(inner) == 0:
        return 0.0
    return float(np.isin(inner, outer, assume_unique=True).sum()) / len(inner)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 0.0
    inter = int(np.isin(a, b, assume_unique=True).sum())
    return inter / (len(a) + len(b) - inter)


@dataclass(slots=True)
class BookSketch:
    """What the decision needs of one book, without its text."""

    id: str
    n_words: int
    n_shingles: int
    release_year: int | None
    signature: np.ndarray
    title: str = ""


@dataclass(slots=True)
class Removal:
    """A removed book, the kept book that contains it, and how much."""

    removed_id: str
    kept_id: str
    containment: float
    jaccard: float
    removed_title: str = ""
    kept_title: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "removed": self.removed_id,
            "kept": self.kept_id,
            "containment": round(self.containment, 4),
            "jaccard": round(self.jaccard, 4),
            "removed_title": self.removed_title,
            "kept_title": self.kept_title,
        }


def decision_order(books: Iterable[BookSketch]) -> list[BookSketch]:
    """Longest first, then newest release, then id: the first of a group is the one kept."""
    return sorted(books, key=lambda b: (-b.n_words, -(b.release_year or 0), b.id))


def find_near_duplicates(
    books: Iterable[BookSketch],
    load_shingles: Callable[[str], np.ndarray],
    threshold: float = PAPER_CONTAINMENT_THRESHOLD,
    lsh_threshold: float = DEFAULT_LSH_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    seed: int = 1,
) -> list[Removal]:
    """Decide which books to remove (see the module docstring for the rule).

    ``load_shingles(id)`` returns a book's shingle array; only candidate pairs are loaded, so
    memory holds the signatures of all books and the shingles of two.
    """
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
    titles: dict[str, str] = {}
    removals: list[Removal] = []
    for book in decision_order(books):
        mh = MinHash(num_perm=num_perm, seed=seed, hashvalues=book.signature, scheme=MINHASH_SCHEME)
        removal = None
        candidates = sorted(lsh.query(mh)) if book.n_shingles else []
        if candidates:
            mine = load_shingles(book.id)
            for kept_id in candidates:  # the most-containing kept book is logged as the pair
                theirs = load_shingles(kept_id)
                share = containment(mine, theirs)
                if share > threshold and (removal is None or share > removal.containment):
                    removal = Removal(
                        book.id, kept_id, share, jaccard(mine, theirs), book.title, titles[kept_id]
                    )
        if removal is not None:
            removals.append(removal)
            continue
        if book.n_shingles:
            lsh.insert(book.id, mh)
        titles[book.id] = book.title
    return removals
