"""StackExchange ingestion against a bare streaming read of the same Posts.xml files.

Baseline: lxml iterparse over every ``<row>``, reading its Body and Title (the least any reader
does). Ours: the two stages (site sizes, then per site: parse, spill to SQLite, sort answers
by numeric score, HTML to text, Parquet). Input: the two real sites, copied 4 times each under
different site names. One core.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from bench.common import realdata_dir
from llamapipe.config import config_from_dict
from llamapipe.engine import run_stages
from llamapipe.sources.stackexchange import build_stages

REALDATA = realdata_dir()
SITES = sorted((REALDATA / "stackexchange").glob("*_Posts.xml"))
COPIES = 4


def baseline(files: list[Path]) -> int:
    rows = 0
    for path in files:
        for _event, row in etree.iterparse(str(path), events=("end",), tag="row"):
            _ = row.get("Body", ""), row.get("Title", "")
            rows += 1
            row.clear()
    return rows


def main() -> None:
    if not SITES:
        sys.exit(
            f"bench_stackexchange: needs {REALDATA / 'stackexchange'} (set $LLAMAPIPE_REALDATA)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = root / "dumps"
        inputs.mkdir()
        files = []
        for i in range(COPIES):
            for site in SITES:
                dst = inputs / f"copy{i}.{site.name}"
                shutil.copy(site, dst)
                files.append(dst)
        mb = sum(p.stat().st_size for p in files) / 1e6

        t0 = time.perf_counter()
        rows = baseline(files)
        base_s = time.perf_counter() - t0

        cfg = config_from_dict(
            {
                "run": {"dir": str(root / "run")},
                "sources": {"stackexchange": {"inputs": [str(inputs)]}},
            },
            root,
        )
        t0 = time.perf_counter()
        results = run_stages(build_stages(cfg), root / "run", executor="inprocess")
        ours_s = time.perf_counter() - t0
    docs = results[-1].counters.totals["docs_out"]

    print(f"sites {len(files)}, {rows} posts, {mb:.1f} MB Posts.xml, one core")
    print(f"baseline iterparse rows:      {rows / base_s:,.0f} posts/s, {mb / base_s:.1f} MB/s")
    print(
        f"ingest/stackexchange (2 st.): {rows / ours_s:,.0f} posts/s, {docs / ours_s:,.0f} docs/s, "
        f"{mb / ours_s:.1f} MB/s"
    )
    print(f"ratio ingest vs iterparse (throughput): {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
