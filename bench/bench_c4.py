"""C4 ingestion (engine + Parquet shards) against a bare gzip + json.loads loop over the same files.

The ratio shows what the engine's bookkeeping and the Parquet writer cost per document.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import realdata_dir
from llamapipe.config import config_from_dict
from llamapipe.engine import run_stage
from llamapipe.sources.c4 import build_stages

REALDATA = realdata_dir()


def make_inputs(root: Path, copies: int) -> list[Path]:
    src = REALDATA / "c4" / "olmo_c4-sample.00000-of-00001.json.gz"
    if not src.exists():
        sys.exit(f"bench_c4: needs {src} (set $LLAMAPIPE_REALDATA)")
    files = []
    for i in range(copies):
        dst = root / f"c4-{i:03d}.json.gz"
        shutil.copy(src, dst)
        files.append(dst)
    return files


def baseline(files: list[Path]) -> tuple[int, int]:
    docs = nbytes = 0
    for path in files:
        with gzip.open(path, "rb") as f:
            for line in f:
                obj = json.loads(line)
                docs += 1
                nbytes += len(obj["text"].encode("utf-8"))
    return docs, nbytes


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_inputs(root, copies=8)
        t0 = time.perf_counter()
        docs, nbytes = baseline(files)
        base_s = time.perf_counter() - t0

        cfg = config_from_dict(
            {
                "run": {"dir": str(root / "run")},
                "sources": {"c4": {"inputs": [str(root / "*.gz")]}},
            },
            root,
        )
        [spec] = build_stages(cfg)
        t0 = time.perf_counter()
        result = run_stage(spec, cfg.run_dir, executor="inprocess")
        ours_s = time.perf_counter() - t0
        assert result.counters.totals["docs_out"] == docs

    mb = nbytes / 1e6
    print(f"documents {docs}, {mb:.1f} MB of text, one core")
    print(f"baseline (gzip + json.loads): {docs / base_s:,.0f} docs/s, {mb / base_s:.1f} MB/s")
    print(f"llamapipe ingest/c4:          {docs / ours_s:,.0f} docs/s, {mb / ours_s:.1f} MB/s")
    print(f"ratio c4 ingest vs bare read: {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
