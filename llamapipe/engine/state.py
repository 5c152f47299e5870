"""On-disk state of a stage: manifest.json, stats.json and the per-shard _done markers.

Every JSON file is written to a temporary name and renamed, so a reader (or a re-run after a
kill) never sees half a file.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llamapipe.io.diskfull import disk_full_error, is_disk_full

MANIFEST = "manifest.json"
STATS = "stats.json"
DONE_DIR = "_done"
TMP_DIR = ".tmp"

StageState = Literal["complete", "partial", "stale", "missing"]


def write_json_atomic(path: Path, data: Any) -> None:
    """Write, fsync, rename; a full disk is a DiskFullError naming `path` (no partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(path, exc) from exc
        raise


def read_json(path: Path) -> Any | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return None


def marker_path(stage_dir: Path, shard_name: str) -> Path:
    return stage_dir / DONE_DIR / f"{shard_name}.json"


def read_manifest(stage_dir: Path) -> dict[str, Any] | None:
    return read_json(stage_dir / MANIFEST)


def read_markers(stage_dir: Path) -> dict[int, dict[str, Any]]:
    done = stage_dir / DONE_DIR
    markers: dict[int, dict[str, Any]] = {}
    if not done.is_dir():
        return markers
    for path in done.glob("*.json"):
        data = read_json(path)
        if data is not None and "index" in data:
            markers[int(data["index"])] = data
    return markers


def clear_stage(stage_dir: Path) -> None:
    """Remove what the engine wrote for this stage, and nothing else.

    A stage folder may contain the folders of its sub-stages (ingest/commoncrawl holds
    ingest/commoncrawl/hashes), so only files recorded in this stage's markers go.
    """
    for marker in read_markers(stage_dir).values():
        for rel in marker.get("outputs", []):
            (stage_dir / rel).unlink(missing_ok=True)
    manifest = read_manifest(stage_dir) or {}
    for rel in manifest.get("finalize_outputs", []):
        target = stage_dir / rel
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
    for name in (DONE_DIR, TMP_DIR):
        shutil.rmtree(stage_dir / name, ignore_errors=True)
    for name in (MANIFEST, STATS):
        (stage_dir / name).unlink(missing_ok=True)


def remove_leftovers(stage_dir: Path) -> int:
    """Remove what killed writers left in a stage folder: shard temp dirs (.tmp/) and the
    temp files of atomic writes (*.tmp, *.tmp.*). Only the holder of the run-dir lock may call
    this (llamapipe/runlock.py): no other writer can be alive then. Returns how many went."""
    if not stage_dir.is_dir():
        return 0
    removed = 0
    for root, dirs, files in os.walk(stage_dir):
        if TMP_DIR in dirs:
            shutil.rmtree(Path(root) / TMP_DIR, ignore_errors=True)
            dirs.remove(TMP_DIR)
            removed += 1
        for name in files:
            if name.endswith(".tmp") or ".tmp." in name:
                Path(root, name).unlink(missing_ok=True)
                removed += 1
    return removed


@dataclass
class StageStatus:
    """What `llamapipe status` prints for one stage."""

    name: str
    state: StageState
    done: int
    total: int
    path: Path
    reason: str = ""
