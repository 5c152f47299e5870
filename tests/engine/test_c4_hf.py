"""C4 from a Hugging Face dataset id (here a local dataset folder, as `hf:<path>`): one shard per
data file of the dataset, the same documents as reading the files directly."""

from __future__ import annotations

from pathlib import Path

from llamapipe.config import config_from_dict
from llamapipe.engine import run_stage
from llamapipe.formats.documents import iter_shard_documents
from llamapipe.sources.c4 import build_stages


def run(inputs: list[str], root: Path) -> list[str]:
    cfg = config_from_dict({"run": {"dir": str(root)}, "sources": {"c4": {"inputs": inputs}}}, root)
    [spec] = build_stages(cfg)
    result = run_stage(spec, cfg.run_dir, executor="inprocess")
    assert result.counters.totals.get("errors", 0) == 0
    shards = sorted((cfg.run_dir / "ingest/c4/shards").glob("*.parquet"))
    return [doc.text for doc in iter_shard_documents(shards)]


def test_hf_dataset_folder_matches_reading_the_files(tmp_path: Path, c4_parts: Path) -> None:
    from_files = run([str(c4_parts / "*.json.gz")], tmp_path / "files")
    from_hf = run([f"hf:{c4_parts}"], tmp_path / "hf")
    assert len(from_hf) == len(from_files) == 1000
    assert sorted(from_hf) == sorted(from_files)
    shards = list((tmp_path / "hf/ingest/c4/shards").glob("*.parquet"))
    assert len(shards) == 8
