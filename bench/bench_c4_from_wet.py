"""C4 from WET (C4 rules, LID, span dedup, three stages) against a bare WET read.

Baseline: decompress and parse the same WET files into records (llamapipe.formats.wet). The
ratio is what the C4 rules, fastText LID, sentence splitting and the dedup stages cost.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import realdata_dir
from llamapipe.config.sources.c4_from_wet import C4FromWetConfig
from llamapipe.engine import run_stage
from llamapipe.formats.wet import read_wet
from llamapipe.sources.c4_from_wet import build_wet_stages
from llamapipe.text.c4_rules import clean_page

REALDATA = realdata_dir() / "commoncrawl"
SAMPLES = [f"CC-MAIN-2019-30-sample-{i:02d}.warc.wet.gz" for i in range(2)]


def baseline(files: list[str]) -> tuple[int, int]:
    docs = nbytes = 0
    for path in files:
        for record in read_wet(path):
            docs += 1
            nbytes += len(record.raw_content.encode("utf-8"))
    return docs, nbytes


def rules_only(files: list[str]) -> int:
    kept = 0
    for path in files:
        for record in read_wet(path):
            kept += clean_page(f"{record.title}\n{record.raw_content}").lines is not None
    return kept


def main() -> None:
    if not all((REALDATA / s).exists() for s in SAMPLES):
        sys.exit(f"bench_c4_from_wet: needs {REALDATA} (set $LLAMAPIPE_REALDATA)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = []
        for i in range(6):
            for name in SAMPLES:
                dst = root / f"{i}-{name}"
                shutil.copy(REALDATA / name, dst)
                files.append(str(dst))
        t0 = time.perf_counter()
        docs, nbytes = baseline(files)
        base_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rules_only(files)
        rules_s = time.perf_counter() - t0
        cfg = C4FromWetConfig(dedup_buckets=4)
        t0 = time.perf_counter()
        for spec in build_wet_stages(files, 1, cfg):
            result = run_stage(spec, root / "run", executor="inprocess")
        ours_s = time.perf_counter() - t0
        kept = result.counters.totals["docs_out"]

    mb = nbytes / 1e6
    print(
        f"pages {docs} ({mb:.1f} MB of WET text, 6 copies of 2 real shards), kept {kept}, one core"
    )
    print(f"baseline (WET decompress + parse): {docs / base_s:,.0f} docs/s, {mb / base_s:.1f} MB/s")
    print(
        f"read + C4 line/page rules:         {docs / rules_s:,.0f} docs/s, {mb / rules_s:.1f} MB/s"
    )
    print(f"llamapipe C4 from WET (3 stages):  {docs / ours_s:,.0f} docs/s, {mb / ours_s:.1f} MB/s")
    print(f"ratio c4 rules vs bare WET read: {base_s / rules_s:.2f}x")
    print(f"ratio c4-from-wet ingest vs bare WET read: {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
