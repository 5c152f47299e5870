"""The engine's promises on a real multi-shard stage (C4 ingestion of real C4 documents)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.engine.conftest import cli, write_config


def shard_digests(stage_dir: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((stage_dir / "shards").glob("*.parquet"))
    }


def test_sigkill_mid_stage_then_rerun_is_byte_identical(tmp_path: Path, c4_parts: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    cfg = write_config(clean, c4_parts)
    done = cli("data", "build", "-c", str(cfg))
    assert done.returncode == 0, done.stderr
    expected = shard_digests(clean / "run" / "ingest" / "c4")
    assert len(expected) == 8

    for point in ("before_commit", "before_marker"):
        killed = tmp_path / f"killed-{point}"
        killed.mkdir()
        cfg = write_config(killed, c4_parts)
        env = dict(os.environ, LLAMAPIPE_FAULT_KILL=f"ingest/c4:5:{point}")
        first = cli("data", "build", "-c", str(cfg), env=env)
        assert first.returncode == -9, first.stderr  # really SIGKILLed
        stage = killed / "run" / "ingest" / "c4"
        markers = sorted(p.name for p in (stage / "_done").glob("*.json"))
        assert markers == [f"{i:05d}.json" for i in range(5)]
        manifest = json.loads((stage / "manifest.json").read_text())
        assert manifest["complete"] is False

        status = cli("status", "-c", str(cfg))
        assert "partial" in status.stdout and "5/8" in status.stdout

        second = cli("data", "build", "-c", str(cfg))
        assert second.returncode == 0, second.stderr
        assert shard_digests(stage) == expected
        assert json.loads((stage / "manifest.json").read_text())["complete"] is True
        assert not (stage / ".tmp").exists()


def test_completed_stage_rerun_is_a_no_op(tmp_path: Path, c4_parts: Path) -> None:
    cfg = write_config(tmp_path, c4_parts)
    assert cli("data", "build", "-c", str(cfg)).returncode == 0
    stage = tmp_path / "run" / "ingest" / "c4"
    mtimes = {p: p.stat().st_mtime_ns for p in stage.rglob("*") if p.is_file()}
    again = cli("data", "build", "-c", str(cfg))
    assert again.returncode == 0
    assert "nothing to do" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in stage.rglob("*") if p.is_file()} == mtimes


def test_config_change_makes_stage_stale_until_forced(tmp_path: Path, c4_parts: Path) -> None:
    cfg = write_config(tmp_path, c4_parts)
    assert cli("data", "build", "-c", str(cfg)).returncode == 0
    changed = ["--set", "sources.c4.files_per_shard=2"]
    status = cli("status", "-c", str(cfg), *changed)
    assert "stale" in status.stdout and "files_per_shard" in status.stdout
    refused = cli("data", "build", "-c", str(cfg), *changed)
    assert refused.returncode == 1
    assert "stale" in refused.stderr and "--force" in refused.stderr
    forced = cli("data", "build", "-c", str(cfg), *changed, "--force")
    assert forced.returncode == 0, forced.stderr
    stage = tmp_path / "run" / "ingest" / "c4"
    assert len(list((stage / "shards").glob("*.parquet"))) == 4
    assert len(list((stage / "_done").glob("*.json"))) == 4
    assert "complete" in cli("status", "-c", str(cfg), *changed).stdout


def test_changed_input_makes_stage_stale(tmp_path: Path, c4_parts: Path) -> None:
    cfg = write_config(tmp_path, c4_parts)
    assert cli("data", "build", "-c", str(cfg)).returncode == 0
    victim = c4_parts / "c4-part.00003.json.gz"
    data = victim.read_bytes()
    victim.write_bytes(data)  # same bytes, new mtime: a replaced file
    os.utime(victim, ns=(1, 1))
    status = cli("status", "-c", str(cfg))
    assert "stale" in status.stdout and "inputs changed" in status.stdout
