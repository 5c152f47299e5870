"""What a pool worker's start costs: without preloading, preloaded at the first stage, and
preloaded by a forkserver started as the command begins (the default; llamapipe/pool_start.py).

`llamapipe data build --source c4` on copies of the real OLMo C4 sample (one shard each, so two
workers both start), run as a process tree (bench/proctree.py, forkserver and workers counted)
with `LLAMAPIPE_POOL_PRELOAD=0 LLAMAPIPE_POOL_EARLY=0` (baseline: every worker imports numpy,
pyarrow, pandas and the engine itself), with `LLAMAPIPE_POOL_EARLY=0` (the forkserver preloads
them, started at the first stage) and with the defaults, alternated `--repeats` times on the
same inputs. The work counted is identical on every side (same stages, same shards, same output
documents).

Usage: python -m bench.bench_pool_start [--copies 4] [--workers 2] [--repeats 3]
Writes bench/results/pool_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import proctree
from bench.common import REPO, byte_compile, loadavg, realdata

RESULTS = REPO / "bench" / "results" / "pool_start.json"
C4_SAMPLE = "c4/olmo_c4-sample.00000-of-00001.json.gz"


def _config(work: Path, inputs: list[Path], workers: int, tag: str) -> Path:
    run_dir = work / f"run-{tag}"
    shutil.rmtree(run_dir, ignore_errors=True)
    config = work / f"{tag}.toml"
    config.write_text(
        f"""[run]
dir = "{run_dir}"
[executor]
kind = "pool"
workers = {workers}
[sources.c4]
inputs = {json.dumps([str(p) for p in inputs])}
"""
    )
    return config


#: The sides compared: (LLAMAPIPE_POOL_PRELOAD, LLAMAPIPE_POOL_EARLY) of each.
VARIANTS = {
    # every worker imports numpy, pyarrow, pandas and the engine itself (the baseline)
    "no_preload": ("0", "0"),
    # the forkserver preloads them, started when the first stage submits its shards
    "preload_at_first_stage": ("1", "0"),
    # the default: preloaded by a forkserver the `llamapipe` script starts first thing
    "preload_early": ("1", "1"),
}


def _build(work: Path, inputs: list[Path], workers: int, variant: str, tag: str) -> dict:
    config = _config(work, inputs, workers, tag)
    preload, early = VARIANTS[variant]
    env = {**os.environ, "LLAMAPIPE_POOL_PRELOAD": preload, "LLAMAPIPE_POOL_EARLY": early}
    env.setdefault("PYTHONPATH", str(REPO))
    llamapipe = Path(sys.executable).with_name("llamapipe")
    usage = proctree.measure(
        [str(llamapipe), "data", "build", "-c", str(config), "--source", "c4"], env=env
    )
    if usage["returncode"] != 0:
        raise SystemExit(f"bench_pool_start: build failed: {usage['stderr_tail'][-500:]}")
    stats = json.loads((work / f"run-{tag}" / "ingest" / "c4" / "stats.json").read_text())
    return {
        "wall_s": usage["wall_s"],
        "cpu_s": usage["cpu_s"],
        "docs_out": stats["totals"].get("docs_out"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    [sample] = realdata("bench_pool_start", C4_SAMPLE)
    byte_compile(REPO / "llamapipe")
    start_load = loadavg()
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        work = Path(tmp)
        inputs = []
        for i in range(args.copies):
            inputs.append(work / f"c4-{i:02d}.json.gz")
            shutil.copy(sample, inputs[-1])
        for r in range(args.repeats):
            for name in VARIANTS:
                runs[name].append(_build(work, inputs, args.workers, name, f"{name}-{r}"))
    docs = {run["docs_out"] for side in runs.values() for run in side}
    if len(docs) != 1:
        raise SystemExit(f"bench_pool_start: the sides wrote different documents: {docs}")
    median = {
        name: {k: statistics.median(run[k] for run in side) for k in ("wall_s", "cpu_s")}
        for name, side in runs.items()
    }
    result = {
        "copies": args.copies,
        "workers": args.workers,
        "repeats": args.repeats,
        "docs_out": docs.pop(),
        "loadavg_at_start": start_load,
        "loadavg_at_end": loadavg(),
        "runs": runs,
        "median": median,
        "vs_no_preload": {
            name: {
                "cpu_saved_s": round(median["no_preload"]["cpu_s"] - median[name]["cpu_s"], 3),
                "cpu_ratio": round(median["no_preload"]["cpu_s"] / median[name]["cpu_s"], 3),
                "wall_saved_s": round(median["no_preload"]["wall_s"] - median[name]["wall_s"], 3),
                "wall_ratio": round(median["no_preload"]["wall_s"] / median[name]["wall_s"], 3),
            }
            for name in VARIANTS
            if name != "no_preload"
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
