"""Training the SentencePiece BPE model on a sample of the mixture.

The sample is drawn per source in proportion to the mix weights (so the vocabulary reflects the
training stream, not the raw corpus sizes): source ``s`` contributes ``sample_bytes * weight_s``
bytes (or all it has), its training documents taken in the order of a seeded hash of their ids
until the quota is met (deterministic, a uniform random subset; see
``train_stage.sample_threshold``).

SentencePiece trains on *sentences*: we feed the lines of each sampled document (newlines
themselves are then encoded by byte fallback as ``<0x0A>``, as in LLaMA), and cut lines longer
than ``max_sentence_length`` bytes into pieces, because the trainer silently skips longer ones.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import sentencepiece as spm

from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.tokenizer.model import SpecialIds, load_tokenizer


def training_lines(text: str, max_bytes: int) -> Iterator[str]:
    """The non-blank lines of a document, each at most ``max_bytes`` UTF-8 bytes."""
    max_chars = max(1, max_bytes // 4)  # 4 bytes is the longest UTF-8 character
    for line in text.split("\n"):
        if not line.strip():
            continue
        if len(line) <= max_chars or len(line.encode("utf-8")) <= max_bytes:
            yield line
            continue
        for start in range(0, len(line), max_chars):
            piece = line[start : start + max_chars]
            if piece.strip():
                yield piece


def trainer_options(cfg: TokenizerConfig) -> dict[str, object]:
    """SentencePieceTrainer options for LLaMA's recipe (every one explicit, none defaulted)."""
    return {
        "model_type": cfg.model_type,
        "vocab_size": cfg.vocab_size,
        "character_coverage": cfg.character_coverage,
        "split_digits": cfg.split_digits,
        "byte_fallback": cfg.byte_fallback,
        "normalization_rule_name": cfg.normalization_rule_name,
        "remove_extra_whitespaces": cfg.remove_extra_whitespaces,
        "add_dummy_prefix": cfg.add_dummy_prefix,
        "allow_whitespace_only_pieces": cfg.allow_whitespace_only_pieces,
        "max_sentence_length": cfg.max_sentence_length,
        "unk_id": cfg.unk_id,
        "bos_id": cfg.bos_id,
        "eos_id": cfg.eos_id,
        "pad_id": cfg.pad_id,
        "num_threads": cfg.num_threads,
        # the sample is already drawn (and seeded) by us: use all of it, in our order
        "input_sentence_size": 0,
        "shuffle_input_sentence": False,
        "split_by_unicode_script": True,
        "split_by_whitespace": True,
        "split_by_number": True,
        "minloglevel": 2,
    }


def train_tokenizer(
    sentences: Iterable[str], model_prefix: str | Path, cfg: TokenizerConfig, seed: int
) -> Path:
    """Train on ``sentences``; writes ``<prefix>.model`` and ``<prefix>.vocab``; returns the model.

    Deterministic: the same sentences, config and seed give a byte-identical model.

    Raises a one-line ValueError when the sample is too small for the vocabulary, naming both.
    """
    model_prefix = Path(model_prefix)
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    spm.set_random_generator_seed(seed)
    counted = _CountingIterator(sentences)
    # The model comes back through model_writer rather than being written under model_prefix:
    # SentencePiece records the prefix in the model, and the engine trains in a temp dir whose
    # name differs per run, which would make otherwise identical models differ in bytes.
    buffer = io.BytesIO()
    try:
        spm.SentencePieceTrainer.Train(
            sentence_iterator=counted, model_writer=buffer, **trainer_options(cfg)
        )
    except RuntimeError as exc:
        raise ValueError(
            f"tokenizer training failed on {counted.lines} lines / {counted.bytes} bytes "
            f"with vocab_size {cfg.vocab_size}: {str(exc).strip().splitlines()[-1]} "
            "(check tokenizer.vocab_size, tokenizer.sample_bytes and tokenizer.character_coverage)"
        ) from None
    model = model_prefix.with_name(model_prefix.name + ".model")
    model.write_bytes(buffer.getvalue())
    write_vocab(model, model_prefix.with_name(model_prefix.name + ".vocab"))
    check_special_ids(model, cfg)
    return model


def write_vocab(model: Path, vocab: Path) -> None:
    """``piece<TAB>score`` per line, in id order: SentencePiece's own .vocab format."""
    sp = load_tokenizer(model)
    with open(vocab, "w", encoding="utf-8") as out:
        for i in range(sp.GetPieceSize()):
            out.write(f"{sp.IdToPiece(i)}\t{sp.GetScore(i):g}\n")


def check_special_ids(model: Path, cfg: TokenizerConfig) -> None:
    """The trained model has the ids the config (and every consumer) expects."""
    got = SpecialIds.of(load_tokenizer(model))
    want = SpecialIds(cfg.unk_id, cfg.bos_id, cfg.eos_id, cfg.pad_id)
    if got != want:
        raise ValueError(f"{model}: special ids {got} differ from the config's {want}")


class _CountingIterator:
    """Passes sentences through while counting them, for the error message."""

    def __init__(self, sentences: Iterable[str]) -> None:
        self._it = iter(sentences)
        self.lines = 0
        self.bytes = 0

    def __iter__(self) -> _CountingIterator:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.lines += 1
        self.bytes += len(line.encode("utf-8"))
        return line
