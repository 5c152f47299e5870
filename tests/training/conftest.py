"""Token shards made from real text: a SentencePiece model trained here on public-domain books."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from llamapipe.formats.token_shards import TokenShardWriter

VOCAB = 512
BOOKS = ("pg35_time_machine_en.txt", "pg43_jekyll_and_hyde_en.txt")


def _paragraphs(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    return [p.strip() for p in text.split("\n\n") if len(p.strip()) > 40]


def write_token_run(realdata: Path, run_dir: Path) -> Path:
    """<run_dir>/tokens/{train/0000N.bin,idx, manifest.json} from two books, BOS/EOS per doc."""
    paragraphs = []
    for name in BOOKS:
        paragraphs.extend(_paragraphs(realdata / "books" / name))
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(paragraphs),
        model_writer=model,
        vocab_size=VOCAB,
        model_type="bpe",
        byte_fallback=True,
        split_digits=True,
        num_threads=1,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    tokens_dir = run_dir / "tokens"
    half = len(paragraphs) // 2
    for shard, docs in enumerate((paragraphs[:half], paragraphs[half:])):
        with TokenShardWriter(tokens_dir / "train" / f"{shard:05d}", VOCAB) as writer:
            for ids in sp.encode(docs):
                writer.add_document([sp.bos_id(), *ids, sp.eos_id()])
    manifest = {"vocab_size": VOCAB, "bos_id": sp.bos_id(), "eos_id": sp.eos_id()}
    (tokens_dir / "manifest.json").write_text(json.dumps(manifest))
    return run_dir


@pytest.fixture(scope="session")
def token_run(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory whose tokens/ holds ~200k real tokens in two shards."""
    return write_token_run(realdata, tmp_path_factory.mktemp("token_run"))


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from a second thread, and OpenMP threads spinning against other
    processes on a busy 2-core machine make each small matmul hundreds of times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
