"""Inputs that hold nothing usable are counted errors naming the file, never silent: a 0-byte
``.json.gz`` in C4 or GitHub, a binary file offered as a book; and a Gutenberg header whose
``Title:`` lost its line break still names the book."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from llamapipe.config import config_from_dict
from llamapipe.config.sources.github import GitHubSourceConfig
from llamapipe.engine import run_stage, run_stages
from llamapipe.formats.documents import read_documents
from llamapipe.formats.gutenberg import read_text_book
from llamapipe.pipeline import data_stages
from llamapipe.sources.github import build_source_stages

OLMO = "c4/olmo_c4-sample.00000-of-00001.json.gz"
GITHUB = "github/github_files_sample.jsonl.gz"
TIME_MACHINE = "books/pg35_time_machine_en.txt"


def _errors(stats: dict) -> dict[str, str]:
    return {Path(e["path"]).name: e["error"] for e in stats["errors"]}


def test_empty_c4_file_is_a_counted_error(realdata: Path, tmp_path: Path) -> None:
    empty = tmp_path / "c4-train.00001-of-01024.json.gz"
    empty.write_bytes(b"")  # an interrupted download
    cfg = config_from_dict(
        {
            "run": {"dir": str(tmp_path / "run")},
            "sources": {"c4": {"inputs": [str(realdata / OLMO), str(empty)]}},
        },
        tmp_path,
    )
    run_stages(data_stages(cfg), cfg.run_dir, executor="inprocess")
    stats = json.loads((cfg.run_dir / "ingest/c4/stats.json").read_text())
    assert stats["totals"]["docs_out"] == 1000
    assert stats["totals"]["errors"] == 1
    assert _errors(stats) == {empty.name: "empty input: no records"}


def test_empty_github_file_is_a_counted_error(realdata: Path, tmp_path: Path) -> None:
    empty = tmp_path / "github-part-00001.jsonl.gz"
    empty.write_bytes(b"")
    cfg = GitHubSourceConfig(inputs=[str(realdata / GITHUB), str(empty)])
    (candidates, *_rest) = build_source_stages(cfg)
    stats = run_stage(candidates, tmp_path, executor="inprocess").counters.to_dict()
    assert stats["totals"]["errors"] == 1
    assert _errors(stats) == {empty.name: "empty input: no rows"}
    assert stats["totals"]["docs_out"] > 0  # the real file's rows are unaffected


def test_binary_file_offered_as_a_book_is_an_error(realdata: Path, tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copy(realdata / TIME_MACHINE, folder)
    # a real archive saved with a .txt name: cp1252 would decode it into a "book" of mojibake
    binary = folder / "pg999_archive.txt"
    shutil.copy(realdata / "arxiv/arXiv_1911.02782_src.tar.gz", binary)
    cfg = config_from_dict(
        {"run": {"dir": str(tmp_path / "run")}, "sources": {"books": {"inputs": [str(folder)]}}},
        tmp_path,
    )
    run_stages(data_stages(cfg), cfg.run_dir, executor="inprocess")
    stats = json.loads((cfg.run_dir / "ingest/books/stats.json").read_text())
    assert stats["totals"]["errors"] == 1
    assert _errors(stats)[binary.name].startswith("binary file, not a text book (NUL byte")
    shards = sorted((cfg.run_dir / "ingest/books/shards").glob("*.parquet"))
    docs = [d for p in shards for d in read_documents(p)]
    assert [d.meta["title"] for d in docs] == ["The Time Machine"]
    assert not any("\ufffd" in d.text for d in docs)


def test_title_glued_to_the_line_before_is_parsed(realdata: Path, tmp_path: Path) -> None:
    raw = (realdata / TIME_MACHINE).read_bytes()
    glued_at = b"www.gutenberg.net\r\n\r\n\r\nTitle: The Time Machine"
    assert glued_at in raw
    path = tmp_path / "pg35.txt"
    path.write_bytes(raw.replace(glued_at, b"www.gutenberg.net Title: The Time Machine"))
    assert read_text_book(path).title == "The Time Machine"
    # CR-only line ends (an old Mac copy): one "line", the title still ends at its line end
    path.write_bytes(raw.replace(b"\r\n", b"\r"))
    assert read_text_book(path).title == "The Time Machine"
