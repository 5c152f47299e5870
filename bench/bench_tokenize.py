"""Encoding into token shards (engine stage, Parquet in, .bin/.idx out) against raw SentencePiece.

Baseline: ``SentencePieceProcessor.Encode`` of the same documents' text, already in memory, one
thread. Measured: the ``tokens/sources/c4`` stage, which also reads the Parquet shards, applies
the held-out split and dedup labels, writes token shards, held-out documents and markers.
Target: >= 0.9x the baseline's MB/s per core. Then the same stage with 1 and 2 pool workers.
Runs alternate (baseline, stage, baseline, stage, ...) and the best of each is kept, because
timings on a shared machine vary by tens of percent between runs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.common import realdata_dir
from llamapipe.config import config_from_dict
from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import run_stage
from llamapipe.formats.documents import read_documents
from llamapipe.sources.c4 import build_stages as c4_stages
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.model import load_tokenizer
from llamapipe.tokenizer.stages import build_token_stages

REALDATA = realdata_dir()
COPIES = 4  # copies of the 2.2 MB C4 sample: ~8.7 MB of text, 4 ingest shards
REPEATS = 3
QUIET = Console(stderr=True, quiet=True)


def prepare(root: Path) -> tuple[Path, list]:
    src = REALDATA / "c4" / "olmo_c4-sample.00000-of-00001.json.gz"
    if not src.exists():
        sys.exit(f"bench_tokenize: needs {src} (set $LLAMAPIPE_REALDATA)")
    for i in range(COPIES):
        shutil.copy(src, root / f"c4-{i:03d}.json.gz")
    run_dir = root / "run"
    cfg = config_from_dict(
        {"run": {"dir": str(run_dir)}, "sources": {"c4": {"inputs": [str(root / "*.gz")]}}}, root
    )
    for spec in c4_stages(cfg):
        run_stage(spec, run_dir, executor="inprocess", console=QUIET)
    stages = build_token_stages(
        run_dir,
        MixConfig(dedup_sources=[]),
        TokenizerConfig(vocab_size=16000, sample_bytes=3_000_000),
        ["c4"],
        seed=0,
    )
    by_name = {s.name: s for s in stages}
    for name in (layout.INDEX_STAGE, layout.TOKENIZER_STAGE):
        run_stage(by_name[name], run_dir, executor="inprocess", console=QUIET)
    return run_dir, stages


def time_raw(run_dir: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) of encoding the documents' text already in memory."""
    texts = [d.text for p in layout.ingest_shards(run_dir, "c4") for d in read_documents(p)]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    sp = load_tokenizer(layout.tokenizer_model_path(run_dir))
    wall, cpu = time.perf_counter(), time.process_time()
    sp.Encode(texts, add_bos=True, num_threads=1)
    return time.perf_counter() - wall, time.process_time() - cpu, nbytes


def time_stage(run_dir: Path, spec, executor: str, workers: int) -> tuple[float, float]:
    """(wall s, CPU s of this process) of a from-scratch run of the stage (clearing not timed)."""
    shutil.rmtree(run_dir / spec.name, ignore_errors=True)
    wall, cpu = time.perf_counter(), time.process_time()
    run_stage(spec, run_dir, executor=executor, workers=workers, console=QUIET)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir, stages = prepare(Path(tmp))
        spec = next(s for s in stages if s.name == layout.source_stage("c4"))
        raw, stage = [], []
        for _ in range(REPEATS):
            wall, cpu, nbytes = time_raw(run_dir)
            raw.append((wall, cpu))
            stage.append(time_stage(run_dir, spec, "inprocess", 1))
        mb = nbytes / 1e6
        raw_wall, raw_cpu = (min(t[i] for t in raw) for i in (0, 1))
        stage_wall, stage_cpu = (min(t[i] for t in stage) for i in (0, 1))
        print(f"text: {mb:.1f} MB in {len(layout.ingest_shards(run_dir, 'c4'))} shards")
        print(
            f"raw sentencepiece encode, 1 thread: {mb / raw_wall:.2f} MB/s wall, "
            f"{mb / raw_cpu:.2f} MB per CPU-s"
        )
        print(
            f"encode stage, 1 worker (Parquet read, split, encode, shard write, markers): "
            f"{mb / stage_wall:.2f} MB/s wall, {mb / stage_cpu:.2f} MB per CPU-s"
        )
        print(
            f"ratio encode stage vs raw sentencepiece per core (wall): {raw_wall / stage_wall:.2f}x"
        )
        print(f"ratio encode stage vs raw sentencepiece per core (CPU): {raw_cpu / stage_cpu:.2f}x")

        pool: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(REPEATS):
            for workers in (1, 2):
                pool[workers].append(time_stage(run_dir, spec, "pool", workers)[0])
        one, two = min(pool[1]), min(pool[2])
        print(f"pool 1 worker: {mb / one:.2f} MB/s; 2 workers: {mb / two:.2f} MB/s")
        print(f"ratio scaling 2 vs 1 workers: {one / two:.2f}x (ideal 2.00x on 2 idle cores)")


if __name__ == "__main__":
    main()
