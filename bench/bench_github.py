"""GitHub ingestion (filters, header stripping, three-stage global dedup) against a bare read.

Baseline: gzip + json.loads of the same BigQuery-style rows. The ratio is what reading through
llamapipe's readers, rules, Parquet shards and the dedup stages costs per file, on one core.
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
from llamapipe.config.sources.github import GitHubSourceConfig
from llamapipe.engine import run_stage
from llamapipe.formats.github import iter_bigquery_rows
from llamapipe.sources.github import CodeRules, build_source_stages

REALDATA = realdata_dir()
SAMPLE = REALDATA / "github" / "github_files_sample.jsonl.gz"


def baseline(files: list[Path]) -> tuple[int, int]:
    docs = nbytes = 0
    for path in files:
        with gzip.open(path, "rb") as fh:
            for line in fh:
                row = json.loads(line)
                docs += 1
                nbytes += len(row["content"].encode("utf-8"))
    return docs, nbytes


def rules_only(files: list[Path], cfg: GitHubSourceConfig) -> int:
    rules = CodeRules.from_config(cfg.model_dump())
    kept = 0
    for path in files:
        for f in iter_bigquery_rows(path):
            kept += rules.apply(f)[0] is not None
    return kept


def main() -> None:
    if not SAMPLE.exists():
        sys.exit(f"bench_github: needs {SAMPLE} (set $LLAMAPIPE_REALDATA)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = []
        for i in range(8):
            dst = root / f"github-{i:03d}.jsonl.gz"
            shutil.copy(SAMPLE, dst)
            files.append(dst)
        cfg = GitHubSourceConfig(inputs=[str(p) for p in files], dedup_buckets=4)

        t0 = time.perf_counter()
        docs, nbytes = baseline(files)
        base_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rules_only(files, cfg)
        rules_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for spec in build_source_stages(cfg):
            result = run_stage(spec, root / "run", executor="inprocess")
        ours_s = time.perf_counter() - t0
        kept = result.counters.totals["docs_out"]

    mb = nbytes / 1e6
    print(f"files {docs} ({mb:.1f} MB of code, 8 copies of the sample), kept {kept}, one core")
    print(f"baseline (gzip + json.loads): {docs / base_s:,.0f} files/s, {mb / base_s:.1f} MB/s")
    print(f"readers + rules (no output):  {docs / rules_s:,.0f} files/s, {mb / rules_s:.1f} MB/s")
    print(f"ingest/github (3 stages):     {docs / ours_s:,.0f} files/s, {mb / ours_s:.1f} MB/s")
    print(f"ratio github rules vs bare read: {base_s / rules_s:.2f}x")
    print(f"ratio github ingest vs bare read: {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
