"""How the Common Crawl stage and tokenization scale with input size and with workers.

Inputs of 1x, 4x, 16x, 64x (`--sizes`) the two real CC-MAIN-2019-30 WET shards: copy 0 is the
shards themselves; copy k > 0 is a perturbed copy, so that paragraph dedup does not collapse
the copies: in every line of 4+ words that is not boilerplate, two neighbouring words chosen
at random (seeded by k) are swapped, and URLs and record ids are made unique. Boilerplate,
the lines found in more than one record of the real shards, is kept verbatim, so the copies
share it as a real crawl does. Size N uses copies 0..N-1 (2N files, default `group_size` 50).

For each size and each worker count (`--workers`, default 1 and 2), measured as a process tree
(bench/proctree.py): wall, CPU (user + system of every process), pages/s per core (pages /
CPU s), peak RSS per worker and in total, bytes on disk; then the marginal cost per page
between sizes and the fixed cost (intercept of a least-squares line through CPU vs pages).

* Common Crawl stage: `llamapipe data build --source commoncrawl`, run folder holding only the
  Wikipedia stage; SentencePiece/KenLM and cutoffs trained once (untimed, bench/bench_ccnet.py)
  and given through `lm.models_dir` / `lm.cutoffs`.
* Tokenization: the encode stage (`tokens/sources/c4`) over the same pages' raw text (every
  >= 300-character record of the size's WET files, one ingest shard per WET file), with a
  tokenizer trained untimed on the 1x text.

Each size and worker count runs `--repeats` times (default 3), 1 and 2 workers alternating, so
that a slow spell of the machine touches both sides of a pair; the speedup is the median of the
paired ratios, the other figures the medians of the repeats (every repeat is kept in the JSON).
Before every pair, bench/machine_ceiling.py probes what two processes get from the machine at
that moment (a pure-Python loop on 2 processes vs 1): the ceiling the pair's speedup is
reported beside, since on this VM it is itself well under 2 and moves from minute to minute.

Targets: 2 workers vs 1 on the 16x input >= 1.8x (wall), for both. Results:
bench/results/scale.json and the plot bench/results/scale.png.
Usage: python -m bench.bench_scale [--sizes 1,4,16,64] [--workers 1,2] [--repeats 3]
       [--skip-tokenize]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from bench import proctree
from bench.common import REPO, byte_compile, loadavg, realdata
from bench.machine_ceiling import CeilingProbe

QUIET = Console(quiet=True)
SHARDS = [
    "commoncrawl/CC-MAIN-2019-30-sample-00.warc.wet.gz",
    "commoncrawl/CC-MAIN-2019-30-sample-01.warc.wet.gz",
]
MIN_LENGTH = 300
RESULTS = REPO / "bench" / "results" / "scale.json"
PLOT = REPO / "bench" / "results" / "scale.png"
TOKENIZER_VOCAB = 8000


def _log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- inputs


def _records(path: Path) -> list[tuple[list[tuple[str, str]], bytes]]:
    from fastwarc.warc import ArchiveIterator

    with open(path, "rb") as f:
        return [
            (list(rec.headers.items()), rec.reader.read())
            for rec in ArchiveIterator(f, parse_http=False)
        ]


def _serialize(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return gzip.compress(f"WARC/1.0\r\n{head}\r\n".encode() + body + b"\r\n\r\n", compresslevel=6)


def _boilerplate(shards: list[list[tuple[list, bytes]]]) -> set[str]:
    """Lines (stripped) that occur in more than one record of the real shards."""
    seen: dict[str, int] = {}
    for records in shards:
        for _headers, body in records:
            for line in {ln.strip() for ln in body.decode("utf-8", "replace").split("\n")}:
                if line:
                    seen[line] = seen.get(line, 0) + 1
    return {line for line, n in seen.items() if n > 1}


def _perturb(text: str, rng: random.Random, keep: set[str]) -> str:
    out = []
    for line in text.split("\n"):
        words = line.split(" ")
        if len(words) >= 4 and line.strip() not in keep:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
            line = " ".join(words)
        out.append(line)
    return "\n".join(out)


def build_copies(dest: Path, copies: int) -> list[Path]:
    """Files copy000-<shard>, copy001-<shard>, ...; existing ones are reused."""
    sources = realdata("bench_scale", *SHARDS)
    dest.mkdir(parents=True, exist_ok=True)
    parsed = None
    keep: set[str] = set()
    out = []
    for k in range(copies):
        for src in sources:
            target = dest / f"copy{k:03d}-{src.name}"
            out.append(target)
            if target.exists():
                continue
            if k == 0:
                shutil.copyfile(src, target)
                continue
            if parsed is None:
                parsed = {s: _records(s) for s in sources}
                keep = _boilerplate(list(parsed.values()))
            rng = random.Random(k * 7919 + sources.index(src))
            chunks = []
            for headers, body in parsed[src]:
                fields = dict(headers)
                if fields.get("WARC-Type") != "conversion":
                    chunks.append(_serialize(headers, body))
                    continue
                new_body = _perturb(body.decode("utf-8", "replace"), rng, keep).encode("utf-8")
                digest = "sha1:" + base64.b32encode(hashlib.sha1(new_body).digest()).decode()
                new_headers = []
                for name, value in headers:
                    if name == "WARC-Target-URI":
                        value = f"{value}{'&' if '?' in value else '?'}copy={k}"
                    elif name in ("WARC-Record-ID", "WARC-Refers-To"):
                        value = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{k}/{value}')}>"
                    elif name == "Content-Length":
                        value = str(len(new_body))
                    elif name in ("WARC-Block-Digest", "WARC-Payload-Digest"):
                        value = digest
                    new_headers.append((name, value))
                chunks.append(_serialize(new_headers, new_body))
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(b"".join(chunks))
            tmp.rename(target)
    return out


def page_texts(wet: Path) -> list[tuple[str, str]]:
    """(url, raw content) of the file's records with >= 300 characters (llamapipe's reader)."""
    from llamapipe.sources.commoncrawl.documents import iter_pages

    def ignore(*_args: object) -> None:
        return None

    return [
        (p.record.url, p.record.raw_content)
        for p in iter_pages(str(wet), MIN_LENGTH, ignore, ignore)
    ]


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# --------------------------------------------------------------------------- CC stage


def run_cc(work: Path, prep: dict, inputs: list[Path], workers: int, tag: str) -> dict:
    """The Common Crawl stage as bench_ccnet runs it (the config's own dedup group size), plus
    what it left on disk."""
    from bench.bench_ccnet import run_llamapipe

    usage = run_llamapipe(work, prep, inputs, workers, tag, group_size=None)
    run_dir = Path(usage["run_dir"])
    # data written for the input (hashes, filtered/classified/final shards), apart from the
    # models (the ~50 MB reference classifier, the LM), which do not grow with it
    models = _du(run_dir / "ingest/commoncrawl/classifier-model") + _du(run_dir / "ccnet-models")
    usage["bytes_on_disk"] = (
        _du(run_dir / "ingest/commoncrawl") + _du(run_dir / "ccnet-models") - models
    )
    usage["bytes_models"] = models
    usage["bytes_in"] = sum(p.stat().st_size for p in inputs)
    for key, stage in (
        ("docs_filtered", "ingest/commoncrawl/filtered"),
        ("docs_out", "ingest/commoncrawl"),
    ):
        stats = json.loads((run_dir / stage / "stats.json").read_text())
        usage[key] = stats.get("totals", {}).get("docs_out")
    usage["stage_wall_s"] = {
        str(path.parent.relative_to(run_dir)): json.loads(path.read_text()).get("seconds")
        for path in sorted(run_dir.glob("**/stats.json"))
        if path.parent.name != "wikipedia"
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return usage


# --------------------------------------------------------------------------- tokenization


def _token_stages(run_dir: Path, inputs_glob: str):
    from llamapipe.config import config_from_dict
    from llamapipe.config.mix import MixConfig
    from llamapipe.config.tokenizer import TokenizerConfig
    from llamapipe.sources.c4 import build_stages as c4_stages
    from llamapipe.tokenizer.stages import build_token_stages

    cfg = config_from_dict(
        {"run": {"dir": str(run_dir)}, "sources": {"c4": {"inputs": [inputs_glob]}}},
        run_dir.parent,
    )
    tokens = build_token_stages(
        run_dir,
        MixConfig(dedup_sources=[]),
        TokenizerConfig(vocab_size=TOKENIZER_VOCAB, sample_bytes=3_000_000),
        ["c4"],
        seed=0,
    )
    return c4_stages(cfg), {s.name: s for s in tokens}


def prepare_tokenize(work: Path, inputs: list[Path], tag: str, tokenizer_from: Path | None):
    """Untimed: the pages' text as C4 JSON files (one per WET file), their ingest stage, the
    token index and the tokenizer (trained here, or copied from `tokenizer_from`)."""
    from llamapipe.engine import run_stage
    from llamapipe.tokenizer import layout

    text_dir = work / f"text-{tag}"
    run_dir = work / f"tok-{tag}"
    for stale in (text_dir, run_dir):
        shutil.rmtree(stale, ignore_errors=True)
    text_dir.mkdir(parents=True)
    nbytes = pages = 0
    for i, wet in enumerate(inputs):
        rows = page_texts(wet)
        pages += len(rows)
        nbytes += sum(len(t.encode("utf-8")) for _u, t in rows)
        with gzip.open(text_dir / f"pages-{i:04d}.json.gz", "wt", encoding="utf-8") as f:
            for url, text in rows:
                f.write(json.dumps({"text": text, "url": url, "timestamp": "2019-07-17"}) + "\n")
    ingest, stages = _token_stages(run_dir, str(text_dir / "*.json.gz"))
    for spec in ingest:
        run_stage(spec, run_dir, executor="inprocess", console=QUIET)
    run_stage(stages[layout.INDEX_STAGE], run_dir, executor="inprocess", console=QUIET)
    if tokenizer_from is not None:
        shutil.copytree(tokenizer_from / layout.TOKENIZER_STAGE, run_dir / layout.TOKENIZER_STAGE)
    else:
        run_stage(stages[layout.TOKENIZER_STAGE], run_dir, executor="inprocess", console=QUIET)
    return run_dir, text_dir, pages, nbytes


def encode_main(run_dir: Path, text_dir: Path, workers: int) -> None:
    """The encode stage alone, from scratch, with `workers` pool workers, run as `llamapipe
    tokenize` runs its stages (engine.run_stages); in a child process (bench/scale_encode.py)."""
    from llamapipe.engine import run_stages
    from llamapipe.tokenizer import layout

    _ingest, stages = _token_stages(run_dir, str(text_dir / "*.json.gz"))
    spec = stages[layout.source_stage("c4")]
    shutil.rmtree(run_dir / spec.name, ignore_errors=True)
    run_stages([spec], run_dir, executor="pool", workers=workers, console=QUIET)


def run_encode(run_dir: Path, text_dir: Path, workers: int) -> dict:
    from llamapipe.tokenizer import layout

    usage = proctree.measure(
        [
            sys.executable,
            "-m",
            "bench.scale_encode",
            str(run_dir),
            str(text_dir),
            str(workers),
        ],
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO))},
        cwd=REPO,
    )
    if usage["returncode"] != 0:
        sys.exit(f"bench_scale: encode failed: {usage['stderr_tail'][-600:]}")
    usage["bytes_on_disk"] = _du(run_dir / layout.source_stage("c4"))
    return usage


# --------------------------------------------------------------------------- report


def _row(kind: str, size: int, workers: int, pages: int, usage: dict, **extra) -> dict:
    cpu = usage["cpu_s"]
    return {
        "stage": kind,
        "size": size,
        "workers": workers,
        "pages": pages,
        "wall_s": usage["wall_s"],
        "cpu_s": cpu,
        "pages_per_s_per_core": round(pages / cpu, 1) if cpu else None,
        "pages_per_s_wall": round(pages / usage["wall_s"], 1),
        # one worker runs in the main process (the pool executor forks none for 1 worker)
        "peak_rss_worker_max_bytes": usage["peak_rss_worker_max_bytes"]
        or usage["peak_rss_main_bytes"],
        "peak_rss_main_bytes": usage["peak_rss_main_bytes"],
        "peak_rss_total_bytes": usage["peak_rss_total_bytes"],
        "peak_pss_total_bytes": usage["peak_pss_total_bytes"],
        "workers_seen": usage["workers_seen"],
        "bytes_on_disk": usage.get("bytes_on_disk"),
        "loadavg_at_start": usage["loadavg_at_start"],
        **extra,
    }


def fit(rows: list[dict]) -> dict:
    """Fixed cost (s) and marginal CPU per page (ms): least squares of CPU s on pages, and
    the marginal cost between consecutive sizes."""
    rows = sorted(rows, key=lambda r: r["pages"])
    out: dict = {"marginal_ms_per_page": []}
    for a, b in zip(rows, rows[1:], strict=False):
        if b["pages"] > a["pages"]:
            out["marginal_ms_per_page"].append(
                {
                    "from_size": a["size"],
                    "to_size": b["size"],
                    "ms": round(1000 * (b["cpu_s"] - a["cpu_s"]) / (b["pages"] - a["pages"]), 3),
                }
            )
    if len(rows) >= 2:
        n = len(rows)
        mx = sum(r["pages"] for r in rows) / n
        my = sum(r["cpu_s"] for r in rows) / n
        sxx = sum((r["pages"] - mx) ** 2 for r in rows)
        slope = sum((r["pages"] - mx) * (r["cpu_s"] - my) for r in rows) / sxx if sxx else 0
        out["fit_ms_per_page"] = round(1000 * slope, 3)
        out["fit_fixed_s"] = round(my - slope * mx, 2)
    return out


def median_rows(rows: list[dict]) -> list[dict]:
    """One row per (stage, size, workers): the first repeat's, with the median wall and CPU
    over the repeats (and every repeat's figures beside them)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["stage"], row["size"], row["workers"]), []).append(row)
    out = []
    for group in groups.values():
        walls = [r["wall_s"] for r in group]
        cpus = [r["cpu_s"] for r in group]
        row = dict(group[0])
        row.pop("repeat", None)
        row.update(
            wall_s=round(statistics.median(walls), 4),
            cpu_s=round(statistics.median(cpus), 4),
            repeats=len(group),
            wall_s_all=walls,
            cpu_s_all=cpus,
        )
        cpu = row["cpu_s"]
        row["pages_per_s_per_core"] = round(row["pages"] / cpu, 1) if cpu else None
        row["pages_per_s_wall"] = round(row["pages"] / row["wall_s"], 1)
        out.append(row)
    return out


def _pairs(rows: list[dict], stage: str, size: int, field: str) -> list[dict[int, object]]:
    """`field` of the 1- and 2-worker run of each repeat that has both ({workers: value})."""
    by_repeat: dict[int, dict[int, object]] = {}
    for r in rows:
        if r["stage"] == stage and r["size"] == size and r.get(field):
            by_repeat.setdefault(r.get("repeat", 0), {})[r["workers"]] = r[field]
    return [w for w in by_repeat.values() if 1 in w and 2 in w]


def paired_speedups(rows: list[dict], stage: str, size: int) -> list[float]:
    """1-worker wall / 2-worker wall of each repeat: the two runs of a pair ran back to back,
    so a slow spell of the machine touches both (timing varies by up to 45% between runs)."""
    return [w[1] / w[2] for w in _pairs(rows, stage, size, "wall_s")]


#: The CC sub-stage that runs as one shard whatever the workers: fastText's one-thread training.
SERIAL_STAGE = "ingest/commoncrawl/classifier-model"


def _cc_stage_split(rows: list[dict], size: int, log: Callable[[str], None]) -> dict:
    """Where the CC stage's wall time goes at this size: the one-shard classifier training
    (its median seconds) and the other sub-stages together, with their 2-vs-1-worker speedup
    (median of the paired repeats): what bounds the whole stage's scaling (Amdahl)."""
    pairs = _pairs(rows, "commoncrawl", size, "stage_wall_s")
    if not pairs:
        return {}

    def rest(walls: dict) -> float:
        return sum(v for k, v in walls.items() if k != SERIAL_STAGE and v)

    serial = statistics.median(w[1].get(SERIAL_STAGE) or 0 for w in pairs)
    speedup = statistics.median(rest(w[1]) / rest(w[2]) for w in pairs)
    log(
        f"commoncrawl {size}x: classifier training {serial:.1f} s (one shard, serial); the other "
        f"sub-stages 2 workers vs 1: {speedup:.2f}x"
    )
    return {
        f"commoncrawl_{size}x_classifier_training_s": round(serial, 2),
        f"commoncrawl_{size}x_other_substages_speedup_2w_vs_1w": round(speedup, 3),
    }


def plot(rows: list[dict], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {1: "o-", 2: "s--"}
    for stage, colour in (("commoncrawl", "tab:blue"), ("tokenize", "tab:orange")):
        for workers in sorted({r["workers"] for r in rows}):
            sel = sorted(
                (r for r in rows if r["stage"] == stage and r["workers"] == workers),
                key=lambda r: r["pages"],
            )
            if not sel:
                continue
            x = [r["pages"] for r in sel]
            style = styles.get(workers, "^-")
            ax_t.plot(
                x,
                [r["wall_s"] for r in sel],
                style,
                color=colour,
                label=f"{stage} wall, {workers}w",
            )
            ax_t.plot(
                x,
                [r["cpu_s"] for r in sel],
                style,
                color=colour,
                alpha=0.45,
                label=f"{stage} CPU, {workers}w",
            )
            ax_m.plot(
                x,
                [r["peak_rss_worker_max_bytes"] / 1e6 for r in sel],
                style,
                color=colour,
                label=f"{stage} per worker, {workers}w",
            )
            ax_m.plot(
                x,
                [r["peak_rss_total_bytes"] / 1e6 for r in sel],
                style,
                color=colour,
                alpha=0.45,
                label=f"{stage} total, {workers}w",
            )
    for ax in (ax_t, ax_m):
        ax.set_xscale("log")
        ax.set_xlabel("input pages (>= 300 chars)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    ax_t.set_yscale("log")
    ax_t.set_ylabel("seconds (process tree CPU, wall)")
    ax_t.set_title("time vs input size")
    ax_m.set_ylabel("peak RSS (MB)")
    ax_m.set_title("memory vs input size")
    fig.suptitle(note, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def ceilings_for(probes: list[dict], stage: str, size: int) -> list[float]:
    """The machine-ceiling probes taken before this stage and size's pairs."""
    return [p["ceiling"] for p in probes if p["stage"] == stage and p["size"] == size]


def report(
    rows: list[dict], args: argparse.Namespace, meta: dict, final: bool, probes: list[dict]
) -> None:
    """Summary, results JSON and plot of the rows so far (rewritten after every measurement,
    so that an interrupted run still leaves what it measured); the ratios printed at the end."""
    sizes, worker_counts = meta["sizes"], meta["workers"]
    started, load_start = meta["started_utc"], meta["loadavg_at_start"]
    log = _log if final else (lambda _msg: None)
    summary: dict = {}
    medians = median_rows(rows)
    for stage in ("commoncrawl", "tokenize"):
        for workers in worker_counts:
            sel = [r for r in medians if r["stage"] == stage and r["workers"] == workers]
            if sel:
                summary[f"{stage}_{workers}w"] = fit(sel)
        for size in sizes:
            if stage == "commoncrawl":
                summary.update(_cc_stage_split(rows, size, log))
            ratios = paired_speedups(rows, stage, size)
            if ratios:
                speedup = statistics.median(ratios)
                summary[f"{stage}_{size}x_speedup_2w_vs_1w"] = round(speedup, 3)
                summary[f"{stage}_{size}x_speedups_per_repeat"] = [round(r, 3) for r in ratios]
                target = " (target >= 1.8x)" if size == 16 else ""
                ceilings = ceilings_for(probes, stage, size)
                beside = ""
                if ceilings:
                    ceiling = statistics.median(ceilings)
                    summary[f"{stage}_{size}x_machine_ceiling"] = round(ceiling, 3)
                    summary[f"{stage}_{size}x_machine_ceilings"] = [round(c, 3) for c in ceilings]
                    beside = (
                        f"; machine ceiling beside them {ceiling:.2f}x "
                        f"({min(ceilings):.2f}-{max(ceilings):.2f})"
                    )
                log(
                    f"ratio {stage} {size}x 2 workers vs 1 (wall): {speedup:.2f}x{target}, "
                    f"median of {len(ratios)} paired runs ({min(ratios):.2f}-{max(ratios):.2f})"
                    + beside
                )
        for workers in worker_counts:
            fitted = summary.get(f"{stage}_{workers}w", {})
            if "fit_ms_per_page" in fitted:
                log(
                    f"{stage} {workers}w: {fitted['fit_ms_per_page']} ms CPU per page marginal "
                    f"(fit), {fitted['fit_fixed_s']} s fixed"
                )
    if probes:
        every = [p["ceiling"] for p in probes]
        summary["machine_ceiling_2w_vs_1w"] = round(statistics.median(every), 3)
        summary["machine_ceiling_range"] = [round(min(every), 3), round(max(every), 3)]
        log(
            f"machine ceiling (bench/machine_ceiling.py, {len(every)} probes): "
            f"{statistics.median(every):.2f}x ({min(every):.2f}-{max(every):.2f})"
        )
    results = {
        **meta,
        "loadavg_at_end": loadavg(),
        "ceiling_probes": probes,
        "complete": final,
        "rows": rows,
        "median_rows": medians,
        "summary": summary,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
        log(f"results: {args.json}")
    if args.plot and medians:
        plot(
            medians,
            Path(args.plot),
            f"{started}, {os.cpu_count()} cores, load average at start {load_start[0]}",
        )
        log(f"plot: {args.plot}")


def _schedule(worker_counts: list[int], repeats: int) -> list[tuple[int, int]]:
    """(repeat, workers) in run order: the worker counts alternate within every repeat."""
    return [(repeat, workers) for repeat in range(repeats) for workers in worker_counts]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,4,16,64", help="copies of the 2 real shards")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--skip-tokenize", action="store_true")
    parser.add_argument("--skip-cc", action="store_true")
    parser.add_argument("--json", default=str(RESULTS))
    parser.add_argument("--plot", default=str(PLOT))
    parser.add_argument("--workdir", default=None, help="keep inputs here (reused across runs)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each size and worker count, alternated"
    )
    args = parser.parse_args(argv)
    order = [int(s) for s in args.sizes.split(",")]
    sizes = sorted(order)
    worker_counts = [int(w) for w in args.workers.split(",")]
    meta = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_at_start": loadavg(),
        "cpus": os.cpu_count(),
        "sizes": sizes,
        "workers": worker_counts,
        "repeats": args.repeats,
    }
    tmp = None
    probe: CeilingProbe | None = None
    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-scale-")
        work = Path(tmp.name)
    try:
        byte_compile(REPO / "llamapipe", REPO / "bench")
        all_inputs = build_copies(work / "wet", max(sizes))
        _log(f"inputs: up to {max(sizes)} copies ({len(all_inputs)} WET files)")
        rows: list[dict] = []
        probes: list[dict] = []
        if {1, 2} <= set(worker_counts):
            probe = CeilingProbe()

        def probe_before_pair(stage: str, size: int, repeat: int, workers: int) -> None:
            if probe is not None and workers == worker_counts[0]:
                ceiling = round(probe.measure(), 3)
                probes.append({"stage": stage, "size": size, "repeat": repeat, "ceiling": ceiling})

        if not args.skip_cc:
            from bench.bench_ccnet import prepare_models

            models_run = work / "models-run"
            shutil.rmtree(models_run, ignore_errors=True)
            prep = prepare_models(models_run, all_inputs)
        first_tok = None
        if not args.skip_tokenize:  # the tokenizer: trained once, on the 1x text
            first_tok = prepare_tokenize(work, all_inputs[:2], "1x", None)
        for size in order:  # both stages per size, in the order given (a cut run keeps them)
            inputs = all_inputs[: 2 * size]
            if not args.skip_cc:
                pages = sum(len(page_texts(p)) for p in inputs)
                for repeat, workers in _schedule(worker_counts, args.repeats):
                    probe_before_pair("commoncrawl", size, repeat, workers)
                    usage = run_cc(work, prep, inputs, workers, f"{size}x-{workers}w")
                    rows.append(
                        _row(
                            "commoncrawl",
                            size,
                            workers,
                            pages,
                            usage,
                            repeat=repeat,
                            bytes_in=usage["bytes_in"],
                            bytes_models=usage["bytes_models"],
                            docs_filtered=usage["docs_filtered"],
                            docs_out=usage["docs_out"],
                            stage_wall_s=usage["stage_wall_s"],
                        )
                    )
                    report(rows, args, meta, final=False, probes=probes)
                    _log(
                        f"commoncrawl {size}x ({pages} pages) {workers}w: "
                        f"{usage['wall_s']:.1f} s wall, {usage['cpu_s']:.1f} CPU s, "
                        f"worker peak {rows[-1]['peak_rss_worker_max_bytes'] / 1e6:.0f} MB, "
                        f"{usage['docs_out']} documents out"
                    )
            if not args.skip_tokenize:
                run_dir, text_dir, pages, nbytes = (
                    first_tok
                    if size == 1
                    else prepare_tokenize(work, inputs, f"{size}x", first_tok[0])
                )
                for repeat, workers in _schedule(worker_counts, args.repeats):
                    probe_before_pair("tokenize", size, repeat, workers)
                    usage = run_encode(run_dir, text_dir, workers)
                    rows.append(
                        _row(
                            "tokenize",
                            size,
                            workers,
                            pages,
                            usage,
                            repeat=repeat,
                            text_bytes=nbytes,
                            mb_per_s_per_core=round(nbytes / 1e6 / usage["cpu_s"], 2),
                        )
                    )
                    report(rows, args, meta, final=False, probes=probes)
                    _log(
                        f"tokenize {size}x ({nbytes / 1e6:.1f} MB) {workers}w: "
                        f"{usage['wall_s']:.1f} s wall, {usage['cpu_s']:.1f} CPU s, "
                        f"worker peak {rows[-1]['peak_rss_worker_max_bytes'] / 1e6:.0f} MB"
                    )
    finally:
        if probe is not None:
            probe.close()
        if tmp is not None:
            tmp.cleanup()

    report(rows, args, meta, final=True, probes=probes)


if __name__ == "__main__":
    main(sys.argv[1:])
