"""ArXiv ingestion (bounded archive reading + LaTeX cleaning) against raw decompress + read.

Baseline: open each paper's tar.gz with tarfile and read every member (what any extractor
does). Ours reads only the LaTeX members, then cleans them; the ratio says what cleaning costs.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench.common import realdata_dir
from llamapipe.config.sources.arxiv import ArxivSourceConfig
from llamapipe.engine import run_stage
from llamapipe.sources.arxiv import build_source_stages

REALDATA = realdata_dir() / "arxiv"
PAPERS = ("REPACKED_arXiv_1802.06067_note-on-cam16_src.tar.gz", "arXiv_1911.02782_src.tar.gz")


def baseline(files: list[Path]) -> tuple[int, int]:
    papers = tex_bytes = 0
    for path in files:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.isfile():
                    data = tar.extractfile(member).read()  # type: ignore[union-attr]
                    if member.name.endswith(".tex"):
                        tex_bytes += len(data)
        papers += 1
    return papers, tex_bytes


def main() -> None:
    if not all((REALDATA / p).exists() for p in PAPERS):
        sys.exit(f"bench_arxiv: needs {REALDATA} (set $LLAMAPIPE_REALDATA)")
    copies = 40
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inbox = root / "papers"
        inbox.mkdir()
        files = []
        for i in range(copies):
            for name in PAPERS:
                dst = inbox / f"{i:03d}-{name}"
                shutil.copy(REALDATA / name, dst)
                files.append(dst)
        t0 = time.perf_counter()
        papers, tex_bytes = baseline(files)
        base_s = time.perf_counter() - t0
        [spec] = build_source_stages(ArxivSourceConfig(inputs=[str(inbox)]))
        t0 = time.perf_counter()
        result = run_stage(spec, root / "run", executor="inprocess")
        ours_s = time.perf_counter() - t0
        assert result.counters.totals["docs_out"] == papers

    mb = tex_bytes / 1e6
    print(f"papers {papers} ({mb:.1f} MB of LaTeX, {copies} copies of 2 real papers), one core")
    print(
        f"baseline (tar.gz: read all members): {papers / base_s:,.1f} papers/s, "
        f"{mb / base_s:.2f} MB/s of LaTeX"
    )
    print(
        f"llamapipe ingest/arxiv:               {papers / ours_s:,.1f} papers/s, "
        f"{mb / ours_s:.2f} MB/s of LaTeX"
    )
    print(f"ratio arxiv ingest vs raw decompress+read: {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
