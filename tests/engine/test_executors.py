"""The same stage gives byte-identical shards in-process, in a pool, on Ray and via submitit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from llamapipe.config import load_config
from llamapipe.engine import run_stage
from llamapipe.sources.c4 import build_stages
from tests.engine.conftest import write_config


def run_with(kind: str, tmp_path: Path, c4_parts: Path, **options) -> dict[str, str]:
    root = tmp_path / kind
    root.mkdir()
    cfg = load_config(write_config(root, c4_parts, kind=kind))
    [spec] = build_stages(cfg)
    kwargs = cfg.executor_kwargs()
    kwargs["executor_options"] = options
    run_stage(spec, cfg.run_dir, **kwargs)
    shards = sorted((cfg.run_dir / "ingest" / "c4" / "shards").glob("*.parquet"))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shards}


@pytest.mark.slow
def test_all_executors_write_identical_shards(tmp_path: Path, c4_parts: Path) -> None:
    reference = run_with("inprocess", tmp_path, c4_parts)
    assert len(reference) == 8
    assert run_with("pool", tmp_path, c4_parts) == reference
    assert run_with("ray", tmp_path, c4_parts) == reference
    slurm = {"slurm": {"cluster": "local", "folder": str(tmp_path / "submitit")}}
    assert run_with("slurm", tmp_path, c4_parts, **slurm) == reference
