"""The trained SentencePiece model: exact round trips on real text, digits, byte fallback, ids."""

from __future__ import annotations

import csv
import gzip
import json
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from llamapipe.formats.documents import read_documents
from llamapipe.formats.token_shards import TokenShardReader
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.encode import decode, encode_batch
from llamapipe.tokenizer.model import FIRST_BYTE_ID, load_tokenizer
from llamapipe.tokenizer.stages import read_selected_texts
from llamapipe.tokenizer.train import train_tokenizer, training_lines
from tests.tokenizer.tokenizer_realdata import SEED, books_docs, small_tokenizer_config


@pytest.fixture(scope="module")
def sp(token_run):
    return load_tokenizer(layout.tokenizer_model_path(token_run.run_dir))


def _tatoeba(realdata):
    with open(realdata / "multilingual" / "tatoeba_CC0_nonascii_sample.tsv", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f, delimiter="\t")]


def _github(realdata, limit=120):
    with gzip.open(realdata / "github" / "github_files_sample.jsonl.gz", "rt") as f:
        return [json.loads(line)["content"] for _, line in zip(range(limit), f, strict=False)]


def _latex(realdata):
    texts = []
    for path in sorted((realdata / "arxiv").glob("*.tar.gz")):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.name.endswith((".tex", ".bib", ".bbl")):
                    texts.append(tar.extractfile(member).read().decode("utf-8", errors="replace"))
    return texts


@pytest.mark.parametrize("kind", ["multilingual", "code", "latex"])
def test_decode_encode_round_trip_is_exact(sp, realdata, kind):
    texts = {"multilingual": _tatoeba, "code": _github, "latex": _latex}[kind](realdata)
    assert len(texts) > 2
    flat, sizes = encode_batch(sp, texts, add_bos=True, add_eos=True)
    start = 0
    for text, size in zip(texts, sizes, strict=True):
        ids = flat[start : start + size]
        start += size
        assert ids[0] == sp.bos_id() and ids[-1] == sp.eos_id()
        assert decode(sp, ids) == text


def test_whitespace_is_kept_as_is(sp):
    for text in ["a  b", "\tindented\n\n  code   ", "  leading", "trailing  ", "x\r\ny"]:
        assert sp.Decode(sp.Encode(text)) == text
    assert sp.Encode("a  b") != sp.Encode("a b")


def test_every_digit_is_its_own_token(sp, realdata):
    texts = [
        "LLaMA-65B was trained on 1,400,000,000,000 tokens in 2023 (21 days, 2048 GPUs).",
        "pi = 3.14159265358979; e = 2.71828; 0x7FFF; v1.2.3; ٣٤٥ ४५६",
    ] + _github(realdata, limit=40)
    digits_seen = 0
    for text in texts:
        for piece in sp.EncodeAsPieces(text):
            if sp.IsByte(sp.PieceToId(piece)):
                continue  # <0xD9>: a byte of a character outside the vocabulary
            body = piece.replace("\u2581", "")
            if any(ch.isdigit() for ch in body):
                assert len(body) == 1, f"multi-character piece with a digit: {piece!r}"
                digits_seen += 1
    assert digits_seen > 100


def test_unseen_characters_become_byte_tokens_not_unk(sp):
    text = "llama \U0001f999 in cuneiform \U00012000 and \u2f00\u2f01 ok"
    pieces = sp.EncodeAsPieces(text)
    ids = sp.Encode(text)
    assert sp.unk_id() not in ids
    assert any(FIRST_BYTE_ID <= i < FIRST_BYTE_ID + 256 for i in ids)
    # the llama emoji is four UTF-8 bytes, so four byte pieces
    assert [p for p in pieces if p.startswith("<0x")][:4] == [
        "<0xF0>",
        "<0x9F>",
        "<0xA6>",
        "<0x99>",
    ]
    assert sp.Decode(ids) == text


def test_special_ids_are_llamas(sp, token_run):
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (0, 1, 2, -1)
    assert [sp.IdToPiece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert sp.IdToPiece(FIRST_BYTE_ID) == "<0x00>"
    assert sp.IdToPiece(FIRST_BYTE_ID + 255) == "<0xFF>"
    assert sp.GetPieceSize() == token_run.tokenizer.vocab_size
    # dummy prefix: a text is encoded as if it followed a space, so "the" starts with "▁"
    assert sp.EncodeAsPieces("the")[0].startswith("\u2581")


def test_encoded_shards_hold_the_documents_text(sp, token_run):
    """The first training shard of books decodes back to the ingested documents, BOS first."""
    run_dir = token_run.run_dir
    reader = TokenShardReader(layout.source_train_prefixes(run_dir, "books")[0])
    by_id = {doc.id: doc.text for doc in token_run.docs["books"]}
    ids = pq.read_table(run_dir / layout.source_stage("books") / "train_ids" / "00000.parquet")
    for i, doc_id in enumerate(ids.column("id").to_pylist()):
        tokens = reader.document(i)
        assert tokens[0] == sp.bos_id()
        assert decode(sp, tokens) == by_id[doc_id]


def test_training_is_deterministic(tmp_path, realdata):
    docs = books_docs(realdata, limit=40)
    cfg = small_tokenizer_config(vocab_size=700, num_threads=2)

    def lines():
        for doc in docs:
            yield from training_lines(doc.text, cfg.max_sentence_length)

    first = train_tokenizer(lines(), tmp_path / "a" / "tok", cfg, seed=SEED)
    second = train_tokenizer(lines(), tmp_path / "b" / "tok", cfg, seed=SEED)
    assert first.read_bytes() == second.read_bytes()


def test_too_small_a_sample_is_a_one_line_error(tmp_path):
    cfg = small_tokenizer_config(vocab_size=5000)
    with pytest.raises(ValueError, match="vocab_size 5000") as info:
        train_tokenizer(iter(["just a few words", "of text"]), tmp_path / "tok", cfg, seed=1)
    assert "\n" not in str(info.value)


def test_long_lines_are_cut_not_dropped():
    line = "x" * 50 + "é" * 40000
    pieces = list(training_lines("short\n\n   \n" + line, max_bytes=1000))
    assert pieces[0] == "short"
    assert "".join(pieces[1:]) == line
    assert all(len(p.encode("utf-8")) <= 1000 for p in pieces)


def test_training_sample_is_proportional_to_the_mix(token_run):
    sample = json.loads((token_run.run_dir / "tokenizer" / "sample.json").read_text())
    sampled = {name: entry["bytes"] for name, entry in sample["sampled"].items()}
    total = sum(sampled.values())
    assert total >= token_run.tokenizer.sample_bytes  # quotas met (overshoot < one doc each)
    for name, weight in sample["weights"].items():
        assert abs(sampled[name] / total - weight) < 0.01, (name, sampled[name] / total, weight)


def test_sample_reads_exactly_the_selected_documents(token_run):
    path = layout.ingest_shards(token_run.run_dir, "c4")[0]
    texts = [doc.text for doc in read_documents(path)]
    selected = np.zeros(len(texts), dtype=bool)
    selected[[0, 7, len(texts) - 1]] = True
    assert list(read_selected_texts(path, selected)) == [texts[0], texts[7], texts[-1]]
    with pytest.raises(ValueError, match="changed after indexing"):
        list(read_selected_texts(path, selected[:-1]))
