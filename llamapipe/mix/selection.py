"""Which documents train, which are held out, which are cross-source duplicates.

Every later step (tokenizer sample, encoding, blend) must agree on this, and workers see one
input shard each, so the decision is made from small per-shard *index* files (a few uint64 keys
per document, written by the index stage) rather than from the documents themselves:

1. Cross-source dedup first. C4 and CCNet come from the same Common Crawl, so a page can be in
   both. For the sources listed in ``mix.dedup_sources`` (priority order), a document of a later
   source whose normalized URL or exact text matches any document of an earlier source is
   dropped. Dedup comes before the split so a held-out document can never have a twin in training.
2. Held-out split per source, among the surviving documents: the ``k`` documents with the
   smallest seeded hash of their id, ``k = clamp(round(valid_fraction * n), valid_min_documents,
   valid_max_documents)`` and at most ``n - 1``. A hash rank rather than a per-document coin gives
   an exact count, so a small source still gets its held-out documents.
3. No held-out twins: a surviving document whose normalised text (``keys.text_key``) occurs in
   any other surviving document, of its own or of any other tokenized source, is never held out
   (it trains). Each source deduplicates its own documents at ingest
   (sources/document_dedup.py), so inside a source this only catches what dedup was told to
   keep; across sources it is what keeps a page that is both in C4 and in CommonCrawl, outside
   ``mix.dedup_sources``, out of the held-out split of either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llamapipe.formats.documents import Document
from llamapipe.mix.keys import NO_KEY, stable_hash64, text_key, url_key

TRAIN, VALID, DUPLICATE = 0, 1, 2
LABEL_NAMES = {TRAIN: "train", VALID: "valid", DUPLICATE: "duplicate"}

INDEX_FIELDS = ("split_key", "sample_key", "nbytes", "url_key", "text_key")


@dataclass(frozen=True)
class DocumentIndex:
    """Per-document keys of one input shard, aligned with the shard's row order."""

    split_key: np.ndarray  # uint64, seeded hash of the id: ranks documents for the held-out split
    sample_key: np.ndarray  # uint64, seeded hash of the id: decides the tokenizer sample
    nbytes: np.ndarray  # int64, UTF-8 bytes of the text
    url_key: np.ndarray  # uint64, hash of the normalized URL (0: none)
    text_key: np.ndarray  # uint64, hash of the stripped text

    def __len__(self) -> int:
        return int(self.split_key.size)

    @classmethod
    def from_documents(cls, docs: Iterable[Document], seed: int) -> DocumentIndex:
        split, sample, nbytes, urls, texts = [], [], [], [], []
        for doc in docs:
            split.append(stable_hash64("valid-split", seed, doc.id))
            sample.append(stable_hash64("tokenizer-sample", seed, doc.id))
            nbytes.append(doc.nbytes)
            urls.append(url_key(doc.meta.get("url")))
            texts.append(text_key(doc.text))
        return cls(
            split_key=np.array(split, dtype=np.uint64),
            sample_key=np.array(sample, dtype=np.uint64),
            nbytes=np.array(nbytes, dtype=np.int64),
            url_key=np.array(urls, dtype=np.uint64),
            text_key=np.array(texts, dtype=np.uint64),
        )

    def save(self, path: Path) -> None:
        with open(path, "wb") as out:
            np.savez(out, **{name: getattr(self, name) for name in INDEX_FIELDS})

    @classmethod
    def load(cls, path: Path) -> DocumentIndex:
        with np.load(path) as data:
            missing = [name for name in INDEX_FIELDS if name not in data]
            if missing:
                raise ValueError(f"{path}: document index lacks arrays {missing}")
            return cls(**{name: data[name] for name in INDEX_FIELDS})

    @classmethod
    def concat(cls, parts: Sequence[DocumentIndex]) -> DocumentIndex:
        if not parts:
            empty_u = np.zeros(0, dtype=np.uint64)
            return cls(empty_u, empty_u, np.zeros(0, dtype=np.int64), empty_u, empty_u)
        return cls(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in INDEX_FIELDS}
        )


@dataclass(frozen=True)
class SourceSplit:
    """The split of one source, small enough for every worker to load.

    Documents are identified by their ``split_key`` (a seeded hash of the id): those in
    ``duplicate_keys`` are dropped, those with a key ``<= valid_threshold`` are held out.
    """

    source: str
    valid_threshold: int | None  # None: nothing held out
    duplicate_keys: np.ndarray  # sorted uint64
    #: split keys of documents with an exact twin elsewhere: they train even below the threshold
    twin_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))

    def labels(self, index: DocumentIndex) -> np.ndarray:
        """TRAIN / VALID / DUPLICATE per document of one input shard (uint8)."""
        labels = np.full(len(index), TRAIN, dtype=np.uint8)
        if self.valid_threshold is not None:
            labels[index.split_key <= np.uint64(self.valid_threshold)] = VALID
        labels[_isin_sorted(index.split_key, self.twin_keys)] = TRAIN
        labels[_isin_sorted(index.split_key, self.duplicate_keys)] = DUPLICATE
        return labels

    def save(self, path: Path) -> None:
        """Write to `path` as given (no ".npz" added: a finalize step's temporary name); it is
        read back from `<folder>/<source>.npz` by `load`."""
        with open(path, "wb") as out:
            np.savez(
                out,
                valid_threshold=np.array(
                    [self.valid_threshold if self.valid_threshold is not None else 0],
                    dtype=np.uint64,
                ),
                has_valid=np.array([self.valid_threshold is not None]),
                duplicate_keys=self.duplicate_keys,
                twin_keys=self.twin_keys,
            )

    @classmethod
    def load(cls, folder: Path, source: str) -> SourceSplit:
        path = folder / f"{source}.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path}: split of source {source} missing (re-run tokenize)")
        with np.load(path) as data:
            threshold = int(data["valid_threshold"][0]) if bool(data["has_valid"][0]) else None
            twins = data["twin_keys"] if "twin_keys" in data else np.zeros(0, np.uint64)
            return cls(source, threshold, data["duplicate_keys"], twins)


def _isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0 or values.size == 0:
        return np.zeros(values.size, dtype=bool)
    pos = np.searchsorted(sorted_keys, values)
    pos[pos == sorted_keys.size] = 0
    return sorted_keys[pos] == values


def held_out_count(n: int, fraction: float, minimum: int, maximum: int) -> int:
    """How many of a source's ``n`` documents are held out (always leaving one to train on)."""
    if n < 2:
        return 0
    k = max(minimum, int(round(fraction * n)))
    return max(0, min(k, maximum, n - 1))


def cross_source_duplicates(
    indexes: Mapping[str, DocumentIndex], source: str, dedup_sources: Sequence[str]
) -> np.ndarray:
    """Mask of ``source``'s documents whose URL or text a higher-priority source already has."""
    own = indexes[source]
    if source not in dedup_sources:
        return np.zeros(len(own), dtype=bool)
    earlier = [s for s in dedup_sources[: list(dedup_sources).index(source)] if s in indexes]
    if not earlier:
        return np.zeros(len(own), dtype=bool)
    urls = np.unique(np.concatenate([indexes[s].url_key for s in earlier]))
    urls = urls[urls != NO_KEY]
    texts = np.unique(np.concatenate([indexes[s].text_key for s in earlier]))
    by_url = (own.url_key != NO_KEY) & _isin_sorted(own.url_key, urls)
    return by_url | _isin_sorted(own.text_key, texts)


def shared_text_keys(
    indexes: Mapping[str, DocumentIndex], dedup_sources: Sequence[str]
) -> np.ndarray:
    """Sorted text keys held by two or more surviving documents of all the sources together."""
    texts = [
        indexes[s].text_key[~cross_source_duplicates(indexes, s, dedup_sources)] for s in indexes
    ]
    keys, counts = np.unique(
        np.concatenate(texts) if texts else np.zeros(0, np.uint64), return_counts=True
    )
    return keys[counts > 1]


def build_source_split(
    indexes: Mapping[str, DocumentIndex],
    source: str,
    dedup_sources: Sequence[str],
    valid_fraction: float,
    valid_min_documents: int,
    valid_max_documents: int,
    twin_keys: np.ndarray | None = None,
) -> SourceSplit:
    """The split of ``source`` given the document indexes of ALL tokenized sources.

    ``twin_keys`` (``shared_text_keys(indexes, dedup_sources)``, computed here when not given)
    are the texts that may not be held out: the held-out documents are the ``k`` smallest
    split keys among the survivors without a twin, with ``k`` counted on all survivors.
    """
    own = indexes[source]
    if twin_keys is None:
        twin_keys = shared_text_keys(indexes, dedup_sources)
    duplicate = cross_source_duplicates(indexes, source, dedup_sources)
    survivors = own.split_key[~duplicate]
    eligible = own.split_key[~duplicate & ~_isin_sorted(own.text_key, twin_keys)]
    k = held_out_count(survivors.size, valid_fraction, valid_min_documents, valid_max_documents)
    k = min(k, eligible.size)
    threshold = int(np.partition(eligible, k - 1)[k - 1]) if k > 0 else None
    # A document with a twin may rank below the threshold: it is listed to train regardless.
    twins = own.split_key[~duplicate & _isin_sorted(own.text_key, twin_keys)]
    twins = twins[twins <= np.uint64(threshold)] if threshold is not None else twins[:0]
    return SourceSplit(source, threshold, np.unique(own.split_key[duplicate]), np.unique(twins))
