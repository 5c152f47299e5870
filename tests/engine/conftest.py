"""Fixtures for engine tests: a real C4 sample split into several input files."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def c4_parts(realdata: Path, tmp_path: Path) -> Path:
    """The 1000 real C4 documents of the OLMo sample, split into 8 json.gz files."""
    src = realdata / "c4" / "olmo_c4-sample.00000-of-00001.json.gz"
    lines = gzip.open(src, "rt", encoding="utf-8").read().splitlines()
    out = tmp_path / "c4"
    out.mkdir()
    per = -(-len(lines) // 8)
    for i in range(8):
        part = lines[i * per : (i + 1) * per]
        with gzip.GzipFile(out / f"c4-part.{i:05d}.json.gz", "wb", mtime=0) as f:
            f.write(("\n".join(part) + "\n").encode("utf-8"))
    return out


def write_config(tmp_path: Path, c4_dir: Path, extra: str = "", kind: str = "inprocess") -> Path:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(
        f"""
[run]
dir = "run"
[executor]
kind = "{kind}"
workers = 2
[sources.c4]
inputs = ["{c4_dir}/*.json.gz"]
{extra}
""",
        encoding="utf-8",
    )
    return cfg


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "llamapipe", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
