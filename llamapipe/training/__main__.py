"""`torchrun ... -m llamapipe.training RUN_DIR [key=value ...]`: train from a bare [train] section.

A launcher without pipeline.toml, for scripts and tests: the options are TrainConfig fields
(`size=tiny max_steps=20 tp=2`); also `steps=N` (stop early), `resume=false`, `seed=N`.
The full CLI is `llamapipe train`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llamapipe.config.train import TrainConfig
from llamapipe.training.trainer import train


def _parse_value(raw: str) -> object:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    run_dir = Path(argv[0])
    options: dict[str, object] = {}
    for item in argv[1:]:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"expected key=value, got {item!r}", file=sys.stderr)
            return 2
        options[key] = _parse_value(value)
    steps = options.pop("steps", None)
    resume = bool(options.pop("resume", True))
    tc = TrainConfig(**options)
    train(tc, run_dir, steps=steps, resume=resume)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
