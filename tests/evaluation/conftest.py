"""Fixtures for evaluation/export tests: a real SentencePiece BPE model trained on real books,
and tiny LLaMA shapes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

from llamapipe.config import PipelineConfig
from llamapipe.config.eval import EvalConfig, EvalTask
from llamapipe.config.run import RunConfig
from llamapipe.config.train import TrainConfig
from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.formats.token_shards import TokenShardWriter
from llamapipe.model import ModelArgs
from llamapipe.training import train

VOCAB = 1000


def book_text(realdata: Path, max_chars: int = 400_000) -> str:
    """English Project Gutenberg books from the real samples, concatenated."""
    parts = [p.read_text(encoding="utf-8") for p in sorted((realdata / "books").glob("*_en.txt"))]
    return "\n".join(parts)[:max_chars]


@pytest.fixture(scope="session")
def sp_model(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LLaMA-style tokenizer (BPE, digits split, byte fallback, identity normalization)."""
    out = tmp_path_factory.mktemp("tokenizer")
    spm.SentencePieceTrainer.train(
        input=",".join(str(p) for p in sorted((realdata / "books").glob("*_en.txt"))),
        model_prefix=str(out / "tokenizer"),
        vocab_size=VOCAB,
        model_type="bpe",
        split_digits=True,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        character_coverage=0.99995,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        input_sentence_size=20000,
        shuffle_input_sentence=True,
        minloglevel=2,
    )
    return out / "tokenizer.model"


def _tiny_args(n_kv_heads: int | None = None, max_seq_len: int = 64) -> ModelArgs:
    return ModelArgs(
        dim=64,
        n_layers=2,
        n_heads=4,
        n_kv_heads=n_kv_heads,
        vocab_size=VOCAB,
        multiple_of=32,
        max_seq_len=max_seq_len,
    )


@pytest.fixture
def tiny_args():
    """Factory of tiny model shapes (dim 64, 2 layers, 4 heads) over the test tokenizer's vocab."""
    return _tiny_args


TRAIN_BOOKS = ("pg11_alice_in_wonderland_en.txt", "pg35_time_machine_en.txt")
HELDOUT_BOOK = "pg43_jekyll_and_hyde_en.txt"


def _paragraphs(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if len(p.strip()) > 40]


def _write_shard(prefix: Path, encoder: SentencePieceEncoder, docs: list[str]) -> int:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with TokenShardWriter(prefix, encoder.vocab_size) as writer:
        for doc in docs:
            ids = [encoder.bos_id, *encoder.encode(doc)]
            writer.add_document(np.asarray(ids))
            count += len(ids)
    return count


@pytest.fixture(scope="session")
def trained_run(realdata: Path, sp_model: Path, tmp_path_factory) -> PipelineConfig:
    """A run dir with real token shards, a tokenizer and a tiny model trained 60 steps on it
    (the demo-style checkpoint the evaluation tests score against a random-init model)."""
    root = tmp_path_factory.mktemp("evalrun")
    run_dir = root / "run"
    (run_dir / "tokenizer").mkdir(parents=True)
    shutil.copy(sp_model, run_dir / "tokenizer" / "tokenizer.model")
    encoder = SentencePieceEncoder(sp_model)
    books = realdata / "books"
    train_docs = [p for name in TRAIN_BOOKS for p in _paragraphs(books / name)]
    _write_shard(run_dir / "tokens" / "train" / "00000", encoder, train_docs)
    _write_shard(
        run_dir / "tokens" / "valid" / "books" / "00000",
        encoder,
        _paragraphs(books / HELDOUT_BOOK)[:150],
    )
    c4_lines = (realdata / "c4" / "hmmina_c4-train.00000-of-01024-head4.json").read_text()
    c4_docs = [json.loads(line)["text"] for line in c4_lines.splitlines() if line.strip()]
    _write_shard(run_dir / "tokens" / "valid" / "c4" / "00000", encoder, c4_docs)
    manifest = {
        "vocab_size": encoder.vocab_size,
        "bos_id": encoder.bos_id,
        "eos_id": encoder.eos_id,
    }
    (run_dir / "tokens" / "manifest.json").write_text(json.dumps(manifest))

    eval_dir = realdata / "eval"
    cfg = PipelineConfig(
        run=RunConfig(dir=str(run_dir)),
        train=TrainConfig(
            size="tiny",
            max_steps=60,
            lr=3e-3,
            warmup_steps=5,
            global_batch_tokens=8 * 64,
            micro_batch_size=8,  # one forward/backward per step
            display="none",
            async_checkpoint=False,
            checkpoint_every=0,
        ),
        eval=EvalConfig(
            tasks=[
                EvalTask(
                    name="copa", path=str(eval_dir / "llmfoundry_copa_all100.jsonl"), limit=40
                ),
                EvalTask(
                    name="arc_easy",
                    path=str(eval_dir / "ARC-Easy-Dev_original_format_sample.jsonl"),
                    few_shot=2,
                    unconditional_norm=True,
                ),
                EvalTask(
                    name="hellaswag", path=str(eval_dir / "llmfoundry_tests_hellaswag_small.jsonl")
                ),
            ],
            batch_size=16,
            perplexity_max_tokens=3000,
        ),
        base_dir=str(root),
    )
    result = train(cfg.train, run_dir, size="tiny", seed=0)
    assert result.final_step == 60 and result.losses[-1] < result.losses[0] - 1.0
    return cfg
