"""Corrupt inputs are counted and skipped with their path, or stop a --strict run clearly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.engine.conftest import cli, write_config


def damage(c4_parts: Path) -> None:
    truncated = c4_parts / "c4-part.00001.json.gz"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    bad_utf8 = c4_parts / "c4-part.00002.json.gz"
    lines = gzip.open(bad_utf8, "rb").read().splitlines()
    lines[3] = lines[3][:40] + b"\xff\xfe" + lines[3][40:]
    with gzip.GzipFile(bad_utf8, "wb", mtime=0) as f:
        f.write(b"\n".join(lines) + b"\n")


def test_corrupt_records_are_counted_with_their_path(tmp_path: Path, c4_parts: Path) -> None:
    damage(c4_parts)
    cfg = write_config(tmp_path, c4_parts)
    result = cli("data", "build", "-c", str(cfg))
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "run" / "ingest" / "c4" / "stats.json").read_text())
    assert stats["totals"]["errors"] == 2
    by_path = {Path(e["path"]).name: e for e in stats["errors"]}
    assert "truncated" in by_path["c4-part.00001.json.gz"]["error"]
    assert by_path["c4-part.00002.json.gz"]["record"] == "4"
    assert "UTF-8" in by_path["c4-part.00002.json.gz"]["error"]
    # Everything before the cut and every other line of the damaged file is kept.
    assert 900 < stats["totals"]["docs_out"] < 1000


def test_strict_mode_fails_with_one_line_naming_the_file(tmp_path: Path, c4_parts: Path) -> None:
    damage(c4_parts)
    cfg = write_config(tmp_path, c4_parts, extra="", kind="inprocess")
    result = cli("data", "build", "-c", str(cfg), "--strict", "--set", "executor.retries=0")
    assert result.returncode == 1
    assert "c4-part.0000" in result.stderr and "Traceback" not in result.stderr
    # The failing stage is the reading one; the deduplicated ingest/c4 was never started.
    stage = tmp_path / "run" / "ingest" / "c4"
    manifest = json.loads((stage / "documents" / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert not (stage / "manifest.json").exists()
