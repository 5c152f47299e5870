"""Regenerate llamapipe's bundled sample inputs (stdlib only, seeded, byte-for-byte deterministic).

Usage:
    python data/generate.py                 # rewrite everything under data/
    python data/generate.py --out /tmp/s    # write elsewhere
    python data/generate.py --only c4,books # just some sources

All text is composed from the hand-written blocks in data/samplegen/ (original to llamapipe); the
only third-party text is the standard license texts in data/samplegen/licenses/. The .7z archive
needs py7zr (in the project venv); every other file uses the standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from samplegen import SOURCES, generate_all  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: data/)")
    parser.add_argument("--only", default="", help=f"comma list of sources: {','.join(SOURCES)}")
    parser.add_argument("--seed", type=int, default=None, help="override the fixed seed")
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s] or None
    unknown = sorted(set(only or []) - set(SOURCES))
    if unknown:
        parser.error(f"unknown source(s): {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    counts = generate_all(args.out, only=only, seed=args.seed)
    for name, n in counts.items():
        print(f"{n:6d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
