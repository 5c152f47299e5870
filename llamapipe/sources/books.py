"""The Books source: clean every book, then remove near-duplicate books across all inputs.

Near-duplicate removal is global (an edition in one folder duplicates a book in another), so
the work is split where the engine can resume it:

1. ``ingest/books/candidates`` (a shard per group of text files / per byte range of a JSONL
   file): clean each book,
   write it to ``shards/<i>.parquet``, and its sketch: word-shingle hashes
   (``sketch/<i>.shingles.u64``, raw uint64, memory-mapped later), MinHash signatures
   (``sketch/<i>.signatures.u64``) and one JSON line per book (``sketch/<i>.jsonl``). The
   stage's finalize step runs the decision over all sketches and writes
   ``removed_pairs.jsonl`` (removed book, the kept book containing it, containment, Jaccard).
2. ``ingest/books`` (a shard per candidate shard): copies the documents that were not removed
   into ``shards/<i>.parquet``; its finalize copies ``removed_pairs.jsonl`` next to them.

Killing the run at any point resumes from the engine's markers: finished cleaning shards are
not redone, and the decision is recomputed from the sketches if it had not completed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import FinalizeContext, ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.filters import Filter, ThresholdFilter
from llamapipe.formats.documents import Document, read_documents
from llamapipe.formats.gutenberg import (
    Book,
    NotTextError,
    is_jsonl,
    iter_jsonl_books,
    read_text_book,
)
from llamapipe.formats.inputs import expand_inputs
from llamapipe.io import is_remote, size_of
from llamapipe.text.near_dup import (
    BookSketch,
    find_near_duplicates,
    minhash_signature,
    word_shingles,
)

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig

CANDIDATES_STAGE = "ingest/books/candidates"
STAGE_NAME = "ingest/books"
SOURCE = "books"
REMOVED_PAIRS = "removed_pairs.jsonl"
_TEXT_SUFFIXES = (".txt",)
_SLUG_RE = re.compile(r"[^a-z0-9]+")
#: The MinHash seed of every sketch (fixed: sketches of two runs must be comparable).
MINHASH_SEED = 1


@dataclass(frozen=True)
class BooksCandidatesConfig(StageConfig):
    """What ``ingest/books/candidates`` reads: cleaning, sketching and the near-dup decision."""

    containment_threshold: float
    shingle_size: int
    num_perm: int
    lsh_threshold: float
    min_words: int
    files_per_shard: int
    jsonl_shard_bytes: int
    minhash_seed: int = MINHASH_SEED
    write_removed: bool = added_key()


@dataclass(frozen=True)
class BooksFinalConfig(StageConfig):
    """What ``ingest/books`` reads (the decision itself is upstream's)."""

    containment_threshold: float
    write_removed: bool = added_key()


def book_filters(cfg: BooksCandidatesConfig) -> list[Filter]:
    """The rules a cleaned book passes, in order, on its word count ``meta["words"]`` (add a
    rule here: README "Add a filter")."""
    return [
        ThresholdFilter("empty", "words", 1, reason="empty"),
        ThresholdFilter("min_words", "words", cfg.min_words, reason="too_short"),
    ]


def list_book_inputs(inputs: list[str]) -> list[str]:
    """Expand folders (recursively: ``*.txt`` and JSONL files) and globs; sorted, unique."""
    files = expand_inputs(
        inputs, in_folders=lambda p: p.name.endswith(_TEXT_SUFFIXES) or is_jsonl(p)
    )
    return list(dict.fromkeys(f if is_remote(f) else str(Path(f).resolve()) for f in files))


def plan_book_shards(
    files: list[str], files_per_shard: int, jsonl_shard_bytes: int
) -> list[ShardSpec]:
    """Text files in groups of ``files_per_shard``; a JSONL file in byte ranges of
    ``jsonl_shard_bytes`` (a gzipped one whole, since gzip cannot seek)."""
    shards: list[ShardSpec] = []

    def add(inputs: tuple[str, ...], params: dict[str, Any] | None = None) -> None:
        shards.append(ShardSpec(index=len(shards), inputs=inputs, params=params or {}))

    texts: list[str] = []
    for path in files:
        if not is_jsonl(path):
            texts.append(path)
            if len(texts) == files_per_shard:
                add(tuple(texts))
                texts = []
            continue
        size = size_of(path)
        if path.endswith(".gz") or size <= jsonl_shard_bytes:
            add((path,))
            continue
        for start in range(0, size, jsonl_shard_bytes):
            add((path,), {"byte_range": [start, min(start + jsonl_shard_bytes, size)]})
    if texts:
        add(tuple(texts))
    return shards


def book_id(book: Book) -> str:
    """``books/pg11-3f2a9c1b7e``: readable, and unique across inputs via the source key hash."""
    if book.ebook_number is not None:
        slug = f"pg{book.ebook_number}"
    else:
        slug = _SLUG_RE.sub("-", book.title.lower()).strip("-")[:40] or "book"
    key_hash = hashlib.blake2b(book.key.encode("utf-8"), digest_size=5).hexdigest()
    return f"{SOURCE}/{slug}-{key_hash}"


def _iter_books(ctx: ShardContext) -> Iterator[Book]:
    for path in ctx.shard.inputs:
        if is_jsonl(path):

            def on_error(record: str | None, message: str, path: str = path) -> None:
                ctx.counters.error(path, record, message)

            byte_range = ctx.shard.params.get("byte_range")
            try:
                yield from iter_jsonl_books(
                    path, on_error=on_error, byte_range=tuple(byte_range) if byte_range else None
                )
            except OSError as exc:
                ctx.counters.error(path, None, f"unreadable: {exc}")
            continue
        try:
            yield read_text_book(path)
        except OSError as exc:
            ctx.counters.error(path, None, f"unreadable: {exc}")
        except NotTextError as exc:
            ctx.counters.error(path, None, str(exc))


def clean_books(ctx: ShardContext) -> None:
    """Stage 1 shard: clean books, write documents and their near-dup sketches."""
    cfg: BooksCandidatesConfig = ctx.config
    name = ctx.shard.name
    offset = 0
    with (
        ctx.document_writer() as writer,
        ctx.filter_runner(book_filters(cfg)) as runner,
        open(ctx.output(f"sketch/{name}.shingles.u64"), "wb") as shingle_file,
        open(ctx.output(f"sketch/{name}.signatures.u64"), "wb") as signature_file,
        open(ctx.output(f"sketch/{name}.jsonl"), "w", encoding="utf-8") as meta_file,
    ):
        for book in _iter_books(ctx):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", book.raw_bytes)
            if not book.header_found and not is_jsonl(book.path):
                ctx.counters.add("no_gutenberg_header")
            doc = _book_document(book)
            if not runner.keep(doc):
                continue
            shingles = word_shingles(book.text, cfg.shingle_size)
            signature = minhash_signature(shingles, cfg.num_perm, seed=cfg.minhash_seed)
            shingle_file.write(shingles.astype("<u8").tobytes())
            signature_file.write(signature.astype("<u8").tobytes())
            sketch = {
                "id": doc.id,
                "title": book.title,
                "n_words": doc.meta["words"],
                "n_shingles": len(shingles),
                "offset": offset,
                "release_year": book.release_year,
            }
            meta_file.write(json.dumps(sketch, ensure_ascii=False) + "\n")
            offset += len(shingles)
            writer.write(doc)


def _book_document(book: Book) -> Document:
    return Document(
        id=book_id(book),
        text=book.text,
        source=SOURCE,
        meta={
            "title": book.title,
            "input": book.key,
            "ebook_number": book.ebook_number,
            "release_year": book.release_year,
            "words": len(book.text.split()),
        },
    )


class _SketchStore:
    """All books' sketches of the candidates stage; shingles are memory-mapped on demand."""

    def __init__(self, stage_dir: Path, num_perm: int) -> None:
        self.books: list[BookSketch] = []
        self._where: dict[str, tuple[Path, int, int]] = {}
        for meta_path in sorted((stage_dir / "sketch").glob("*.jsonl")):
            shard = meta_path.name.removesuffix(".jsonl")
            signatures = _read_u64(meta_path.with_name(f"{shard}.signatures.u64"))
            signatures = signatures.reshape(-1, num_perm) if len(signatures) else signatures
            shingle_path = meta_path.with_name(f"{shard}.shingles.u64")
            lines = meta_path.read_text(encoding="utf-8").splitlines()
            for row, line in enumerate(lines):
                entry = json.loads(line)
                if entry["id"] in self._where:
                    raise ValueError(f"duplicate book id {entry['id']} in {meta_path}")
                self._where[entry["id"]] = (shingle_path, entry["offset"], entry["n_shingles"])
                self.books.append(
                    BookSketch(
                        id=entry["id"],
                        n_words=entry["n_words"],
                        n_shingles=entry["n_shingles"],
                        release_year=entry["release_year"],
                        signature=np.array(signatures[row], dtype=np.uint64),
                        title=entry["title"],
                    )
                )

    def shingles(self, book_id: str) -> np.ndarray:
        path, offset, count = self._where[book_id]
        if count == 0:
            return np.empty(0, dtype=np.uint64)
        mapped = np.memmap(path, dtype="<u8", mode="r", offset=offset * 8, shape=(count,))
        return np.asarray(mapped, dtype=np.uint64)


def _read_u64(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.empty(0, dtype=np.uint64)
    return np.fromfile(path, dtype="<u8").astype(np.uint64)


def decide_near_duplicates(ctx: FinalizeContext) -> None:
    """Stage 1 finalize: pick the books to remove across all shards; log the pairs."""
    cfg: BooksCandidatesConfig = ctx.config
    store = _SketchStore(ctx.stage_dir, cfg.num_perm)
    removals = find_near_duplicates(
        store.books,
        store.shingles,
        threshold=cfg.containment_threshold,
        lsh_threshold=cfg.lsh_threshold,
        num_perm=cfg.num_perm,
        seed=cfg.minhash_seed,
    )
    ctx.counters.add("books_sketched", len(store.books))
    ctx.counters.add("near_duplicate_pairs", len(removals))
    with ctx.output(REMOVED_PAIRS) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for removal in removals:
            handle.write(json.dumps(removal.to_dict(), ensure_ascii=False) + "\n")


def read_removed_ids(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    removed = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            removed.add(json.loads(line)["removed"])
    return removed


def keep_unique_books(ctx: ShardContext) -> None:
    """Stage 2 shard: copy the documents of one candidate shard minus the removed books."""
    removed = read_removed_ids(ctx.upstream_dir(CANDIDATES_STAGE) / REMOVED_PAIRS)
    with ctx.document_writer() as writer, ctx.filter_runner([]) as runner:
        for doc in read_documents(ctx.shard.inputs[0]):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            if doc.id in removed:  # decided across all books by the candidates' finalize
                runner.reject(doc, "near_duplicate", "near_duplicate")
                continue
            writer.write(doc)


def publish_removed_pairs(ctx: FinalizeContext) -> None:
    """Stage 2 finalize: the pair log next to the final shards, where users look."""
    source = ctx.upstream_dir(CANDIDATES_STAGE) / REMOVED_PAIRS
    if source.is_file():
        with ctx.output(REMOVED_PAIRS) as tmp:
            shutil.copyfile(source, tmp)


def build_stages(cfg: PipelineConfig) -> list[StageSpec]:
    section = cfg.sources.books
    write_removed = write_removed_for(cfg, "books")
    config = BooksCandidatesConfig.from_section(section, write_removed=write_removed)
    inputs = list(section.inputs)
    candidates_dir = cfg.run_dir / CANDIDATES_STAGE

    def plan_candidates() -> list[ShardSpec]:
        files = list_book_inputs(inputs)
        return plan_book_shards(files, section.files_per_shard, section.jsonl_shard_bytes)

    def plan_final() -> list[ShardSpec]:
        shards = sorted((candidates_dir / "shards").glob("*.parquet"))
        return [ShardSpec(index=int(p.stem), inputs=(str(p),)) for p in shards]

    return [
        StageSpec(
            name=CANDIDATES_STAGE,
            config=config,
            plan=plan_candidates,
            process=clean_books,
            finalize=decide_near_duplicates,
            description="clean books, sketch them, decide near-duplicates (containment)",
        ),
        StageSpec(
            name=STAGE_NAME,
            config=BooksFinalConfig.from_section(section, write_removed=write_removed),
            plan=plan_final,
            process=keep_unique_books,
            upstream=[CANDIDATES_STAGE],
            finalize=publish_removed_pairs,
            description="books without near-duplicates",
        ),
    ]
