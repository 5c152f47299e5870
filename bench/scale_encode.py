"""Child process of bench/bench_scale.py: the encode stage alone, as `llamapipe tokenize` runs it.

Like the `llamapipe` script (llamapipe/launch.py), it starts the pool's forkserver before any
heavy import, so that the forkserver's imports overlap this process's own.
Usage: python -m bench.scale_encode RUN_DIR TEXT_DIR WORKERS
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    run_dir, text_dir, workers = Path(argv[0]), Path(argv[1]), int(argv[2])
    if workers > 1:
        from llamapipe.pool_start import start_forkserver

        start_forkserver()
    from bench.bench_scale import encode_main

    encode_main(run_dir, text_dir, workers)


if __name__ == "__main__":
    main(sys.argv[1:])
