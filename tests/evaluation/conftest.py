"""Fixtures for evaluation/export tests: a real SentencePiece BPE model trained on real books,
and tiny LLaMA shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm

from llamapipe.model import ModelArgs

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
