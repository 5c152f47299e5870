"""Relative paths mean "next to pipeline.toml" for every command, from any folder; anticipated
errors are one line (a traceback only with --debug)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from llamapipe.config import PipelineConfig, load_config
from llamapipe.config.paths import PATH_KEYS
from tests.engine.conftest import cli

PATH_LIKE = re.compile(r"(^inputs$|_dir$|_path$|^path$|^dir$|^folder$|_model$)")


def _path_like_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key whose name looks like a path; list items of sections appear as "*"."""
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = (annotation, *getattr(annotation, "__args__", ()))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            item = "*." if getattr(annotation, "__origin__", None) is list else ""
            keys += _path_like_keys(nested[0], f"{prefix}{name}.{item}")
        elif PATH_LIKE.search(name) and name != "base_dir":
            keys.append(f"{prefix}{name}")
    return keys


def _covered(key: str) -> bool:
    parts = key.split(".")
    for pattern in PATH_KEYS:
        wanted = pattern.split(".")
        if len(wanted) != len(parts):
            continue
        if all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
            return True
    return False


def test_every_path_like_key_is_resolved() -> None:
    """A new path-typed key must be added to PATH_KEYS (llamapipe/config/paths.py)."""
    keys = _path_like_keys(PipelineConfig)
    assert "sources.c4.wet_rules.badwords_path" in keys and "eval.tasks.*.path" in keys
    assert [key for key in keys if not _covered(key)] == []


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.json.gz").write_bytes(b"")
    cfg_path = tmp_path / "conf" / "pipeline.toml"
    cfg_path.parent.mkdir()
    cfg_path.write_text(
        """
[run]
name = "exp1"
[executor.slurm]
folder = "slurm-logs"
[sources.c4]
inputs = ["../data/*.json.gz", "s3://bucket/c4/*.json.gz", "hf:allenai/c4:en"]
[sources.c4.wet_rules]
badwords_path = "lists/bad.txt"
cache_dir = "~/wet-cache"
[sources.commoncrawl.lm]
models_dir = "../models"
[train]
tokens_dir = "../tokens"
[eval.export]
out_dir = "/abs/export"
[[eval.tasks]]
name = "t"
path = "tasks/t.jsonl"
""",
        encoding="utf-8",
    )
    conf, root = cfg_path.parent, tmp_path
    for cwd in (tmp_path, Path("/")):
        monkeypatch.chdir(cwd)
        cfg = load_config(cfg_path)
        assert cfg.run_dir == conf / "runs" / "exp1"  # run.name gives the default run dir
        assert cfg.executor.slurm.folder == str(conf / "slurm-logs")
        assert cfg.sources.c4.inputs == [
            str(root / "data" / "*.json.gz"),
            "s3://bucket/c4/*.json.gz",
            "hf:allenai/c4:en",
        ]
        assert cfg.sources.c4.wet_rules.badwords_path == str(conf / "lists" / "bad.txt")
        assert cfg.sources.c4.wet_rules.cache_dir == str(Path.home() / "wet-cache")
        assert cfg.sources.commoncrawl.lm.models_dir == str(root / "models")
        assert cfg.train.tokens_dir == str(root / "tokens")
        assert cfg.eval.export.out_dir == "/abs/export"
        assert cfg.eval.tasks[0].path == str(conf / "tasks" / "t.jsonl")
        assert cfg.sources.stackexchange.work_dir == ""  # unset stays unset
    # --set overrides are relative to the config folder too
    cfg = load_config(cfg_path, ['run.dir="elsewhere/r"'])
    assert cfg.run_dir == conf / "elsewhere" / "r"


def test_status_after_a_build_is_complete_from_any_folder(tmp_path: Path, c4_parts: Path) -> None:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(
        '[run]\nname = "c4only"\n[executor]\nkind = "inprocess"\n'
        '[sources.c4]\ninputs = ["c4/*.json.gz"]\n',
        encoding="utf-8",
    )
    other = tmp_path / "elsewhere"
    other.mkdir()
    built = cli("data", "build", "-c", "pipeline.toml", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "runs" / "c4only" / "ingest" / "c4" / "manifest.json").exists()
    for cwd, config in ((tmp_path, "pipeline.toml"), (other, "../pipeline.toml"), (Path("/"), cfg)):
        status = cli("status", "-c", str(config), cwd=cwd)
        assert status.returncode == 0, status.stderr
        row = next(line for line in status.stdout.splitlines() if "ingest/c4" in line)
        assert "complete" in row and "8/8" in row, status.stdout
        assert "stale" not in status.stdout
        again = cli("data", "build", "-c", str(config), cwd=cwd)
        assert again.returncode == 0 and "complete, nothing to do" in again.stderr


def test_bad_run_name_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text('[run]\nname = "../escape"\n', encoding="utf-8")
    result = cli("status", "-c", str(cfg))
    assert result.returncode == 2 and "run.name" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _config_with_run_dir(tmp_path: Path, c4_dir: Path, run_dir: Path) -> Path:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(
        f'[run]\ndir = "{run_dir}"\n[sources.c4]\ninputs = ["{c4_dir}/*.json.gz"]\n',
        encoding="utf-8",
    )
    return cfg


def test_unusable_run_dir_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path, c4_parts: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    cfg = _config_with_run_dir(tmp_path, c4_parts, blocker / "run")
    result = cli("data", "build", "-c", str(cfg))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "a-file/run" in lines[0] and "Not a directory" in lines[0]
    debug = cli("--debug", "data", "build", "-c", str(cfg))
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only folder")
def test_permission_denied_on_the_run_dir_is_one_line(tmp_path: Path, c4_parts: Path) -> None:
    locked = tmp_path / "readonly"
    locked.mkdir()
    locked.chmod(0o500)
    cfg = _config_with_run_dir(tmp_path, c4_parts, locked / "run")
    try:
        result = cli("data", "build", "-c", str(cfg))
    finally:
        locked.chmod(0o700)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Permission denied" in lines[0]
