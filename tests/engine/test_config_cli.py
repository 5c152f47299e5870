"""Config mistakes are one line naming the key or path, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import datasets

from tests.engine.conftest import cli, write_config


def test_unknown_key_wrong_type_and_missing_path(tmp_path: Path, c4_parts: Path) -> None:
    cfg = write_config(tmp_path, c4_parts)
    unknown = cli("data", "build", "-c", str(cfg), "--set", "sources.c4.file_per_shard=2")
    assert unknown.returncode == 2
    assert "unknown key 'sources.c4.file_per_shard'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1

    wrong = cli("data", "build", "-c", str(cfg), "--set", "executor.workers=many")
    assert wrong.returncode == 2 and "executor.workers" in wrong.stderr

    missing = write_config(tmp_path, tmp_path / "nowhere")
    gone = cli("data", "build", "-c", str(missing))
    assert gone.returncode == 2 and "sources.c4.inputs" in gone.stderr

    no_file = cli("status", "-c", str(tmp_path / "absent.toml"))
    assert no_file.returncode == 2 and "absent.toml" in no_file.stderr


def test_shards_load_with_hf_datasets(tmp_path: Path, c4_parts: Path) -> None:
    cfg = write_config(tmp_path, c4_parts)
    assert cli("data", "build", "-c", str(cfg)).returncode == 0
    files = sorted(str(p) for p in (tmp_path / "run/ingest/c4/shards").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert ds.column_names == ["id", "text", "source", "meta"]
    assert len(ds) == 1000 and len(set(ds["id"])) == 1000
    assert set(ds["source"]) == {"c4"}


def test_init_writes_a_loadable_commented_config(tmp_path: Path) -> None:
    target = tmp_path / "newrun"
    result = cli("init", str(target))
    assert result.returncode == 0, result.stderr
    text = (target / "pipeline.toml").read_text()
    assert text.count("#") > 20
    assert (target / "data" / "commoncrawl").is_dir()
    status = cli("status", "-c", str(target / "pipeline.toml"))
    assert status.returncode == 0, status.stderr
    again = cli("init", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_readme_config_reference_matches_the_models(repo_root: Path) -> None:
    from llamapipe.config.reference import replace_in

    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert replace_in(readme) == readme, (
        "README's config reference is stale: python -m llamapipe.config.reference --write README.md"
    )
