"""`llamapipe tokenize` from a pipeline.toml, and the `data stats` table it feeds."""

from __future__ import annotations

import json

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from llamapipe.cli.tokenize import tokenize_command
from llamapipe.config import load_config
from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import run_stage
from llamapipe.errors import StageError
from llamapipe.mix.stats import render_data_stats
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.stages import build_token_stages
from tests.tokenizer.tokenizer_realdata import books_docs, build_ingest, c4_docs


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("tokenize")(tokenize_command)
    app.command("noop")(lambda: None)  # two commands: typer keeps "tokenize" as a subcommand
    return app


def _write_config(tmp_path, realdata, extra: str = "") -> None:
    disabled = ["commoncrawl", "github", "wikipedia", "arxiv", "stackexchange"]
    lines = [
        "[run]",
        'dir = "run"',
        "seed = 11",
        "[executor]",
        'kind = "inprocess"',
        "workers = 1",
        "[sources.c4]",
        f'inputs = ["{realdata / "c4" / "olmo_c4-sample.00000-of-00001.json.gz"}"]',
        "[sources.books]",
        f'inputs = ["{realdata / "books"}"]',
        *[f"[sources.{name}]\nenabled = false" for name in disabled],
        "[tokenizer]",
        "vocab_size = 2000",
        "sample_bytes = 400000",
        "[mix]",
        "tokens_per_train_shard = 100000",
        extra,
    ]
    (tmp_path / "pipeline.toml").write_text("\n".join(lines) + "\n")


def test_tokenize_command_builds_the_run_and_stats_show_it(tmp_path, realdata):
    _write_config(tmp_path, realdata)
    run_dir = tmp_path / "run"
    build_ingest(run_dir, "c4", c4_docs(realdata, 200), per_shard=50)
    build_ingest(run_dir, "books", books_docs(realdata, 60), per_shard=20)
    result = CliRunner().invoke(
        _app(), ["tokenize", "-c", str(tmp_path / "pipeline.toml"), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((run_dir / layout.TOKENS_MANIFEST).read_text())
    assert set(manifest["sources"]) == {"books", "c4"}
    assert (manifest["vocab_size"], manifest["bos_id"], manifest["dtype"]) == (2000, 1, "uint16")
    c4_share = 15.0 / (15.0 + 4.5)
    assert abs(manifest["sources"]["c4"]["share"] - c4_share) < 0.005
    assert layout.train_prefixes(run_dir)

    cfg = load_config(tmp_path / "pipeline.toml")
    console = Console(record=True, width=200)
    console.print(render_data_stats(cfg))
    text = console.export_text()
    assert "c4" in text and "books" in text and "67.0" in text  # paper's Table 1 alongside
    assert f"{manifest['sources']['c4']['unique_tokens']:,}" in text

    again = CliRunner().invoke(_app(), ["tokenize", "-c", str(tmp_path / "pipeline.toml")])
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output  # complete stages are skipped


def test_corrupt_ingest_shard_fails_naming_the_file(tmp_path, realdata):
    run_dir = tmp_path / "run"
    build_ingest(run_dir, "books", books_docs(realdata, 20), per_shard=10)
    shard = layout.ingest_shards(run_dir, "books")[1]
    shard.write_bytes(shard.read_bytes()[:100])  # truncated: footer gone
    stages = build_token_stages(run_dir, MixConfig(), TokenizerConfig(), ["books"], seed=1)
    with pytest.raises(StageError, match=r"00001\.parquet: not a readable document shard"):
        run_stage(stages[0], run_dir, executor="inprocess", retries=0)
