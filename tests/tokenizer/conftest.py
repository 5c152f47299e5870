"""A small real-text run, built once per session: ingest shards of every source from
../shared/realdata, then the index, tokenizer, encode, held-out and blend stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import StageSpec, run_stage
from llamapipe.tokenizer.stages import build_token_stages
from tests.tokenizer.tokenizer_realdata import (
    READERS,
    SEED,
    make_ingest,
    small_mix_config,
    small_tokenizer_config,
)


@dataclass
class TokenRun:
    run_dir: Path
    stages: list[StageSpec]
    mix: MixConfig
    tokenizer: TokenizerConfig
    docs: dict  # source -> list[Document] as ingested


@pytest.fixture(scope="session")
def token_run(realdata, tmp_path_factory) -> TokenRun:
    run_dir = tmp_path_factory.mktemp("token-run") / "run"
    docs = make_ingest(run_dir, realdata)
    mix, tok = small_mix_config(), small_tokenizer_config()
    stages = build_token_stages(run_dir, mix, tok, list(READERS), SEED)
    for spec in stages:
        run_stage(spec, run_dir, executor="inprocess", seed=SEED)
    return TokenRun(run_dir, stages, mix, tok, docs)
