"""Books ingestion against a raw read of the same files.

Baseline: read and UTF-8-decode every book file (what any loader does). Ours: the Books
stages (Gutenberg stripping, 5-gram shingles, MinHash, Parquet, the LSH + containment decision,
the final copy). Input: the real Gutenberg books, each copied 3 times with a different front
matter, so the near-duplicate decision has real work (2 of every 3 copies are removed).
One core.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import realdata_dir
from llamapipe.config import config_from_dict
from llamapipe.engine import run_stages
from llamapipe.sources.books import build_stages

REALDATA = realdata_dir()
BOOKS = sorted((REALDATA / "books").glob("*.txt"))
COPIES = 3


def baseline(files: list[Path]) -> int:
    chars = 0
    for path in files:
        chars += len(path.read_bytes().decode("utf-8", errors="replace"))
    return chars


def main() -> None:
    if not BOOKS:
        sys.exit(f"bench_books: needs {REALDATA / 'books'} (set $LLAMAPIPE_REALDATA)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = []
        for i in range(COPIES):
            folder = root / f"edition{i}"
            folder.mkdir()
            for book in BOOKS:
                dst = folder / book.name
                text = book.read_text(encoding="utf-8-sig")
                marker = text.find("\n", text.find("START OF"))
                front = f"\n\nEDITION {i}: with a preface by editor number {i}.\n\n" * (i + 1)
                dst.write_text(text[: marker + 1] + front + text[marker + 1 :], encoding="utf-8")
                files.append(dst)
        mb = sum(p.stat().st_size for p in files) / 1e6

        t0 = time.perf_counter()
        baseline(files)
        base_s = time.perf_counter() - t0

        cfg = config_from_dict(
            {
                "run": {"dir": str(root / "run")},
                "sources": {
                    "books": {"inputs": [str(root / f"edition{i}") for i in range(COPIES)]}
                },
            },
            root,
        )
        t0 = time.perf_counter()
        results = run_stages(build_stages(cfg), root / "run", executor="inprocess")
        ours_s = time.perf_counter() - t0
    kept = results[-1].counters.totals["docs_out"]
    n = len(files)

    print(f"books {n} ({mb:.1f} MB, {len(BOOKS)} real books x {COPIES} editions), kept {kept}")
    print(f"baseline read + decode:   {n / base_s:,.0f} books/s, {mb / base_s:.1f} MB/s")
    print(f"ingest/books (2 stages):  {n / ours_s:,.1f} books/s, {mb / ours_s:.2f} MB/s")
    print(f"ratio ingest vs raw read (throughput): {base_s / ours_s:.4f}x")


if __name__ == "__main__":
    main()
