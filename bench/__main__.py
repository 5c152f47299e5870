"""`python -m bench [name ...]`: run the benchmarks, each in its own process, and list their ratios.

Every benchmark module `bench/bench_<name>.py` runs as `python -m bench.bench_<name>` and prints
lines containing the word "ratio" (e.g. `ratio c4 ingest vs raw read: 0.83x`); this runner
collects them into one table. Timings mean something only against the same-run baseline.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    console = Console()
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        console.print(f"unknown benchmark(s) {unknown}; available: {available()}")
        return 2
    table = Table(title="llamapipe benchmarks (ratios against same-run baselines)")
    table.add_column("benchmark")
    table.add_column("result")
    table.add_column("time", justify="right")
    failed = 0
    for name in names:
        console.rule(f"bench_{name}")
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.bench_{name}"],
            cwd=BENCH_DIR.parent,
            text=True,
            capture_output=True,
        )
        console.print(proc.stdout, end="", markup=False, highlight=False)
        if proc.returncode != 0:
            failed += 1
            console.print(proc.stderr[-3000:], markup=False, highlight=False)
        ratios = [ln for ln in proc.stdout.splitlines() if "ratio" in ln.lower()]
        result = "\n".join(ratios) if ratios else ("FAILED" if proc.returncode else "(no ratio)")
        table.add_row(name, result, f"{time.perf_counter() - start:.0f}s")
    console.print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
