"""Build a Hugging Face ``tokenizer.json`` straight from our SentencePiece BPE model.

Why not let transformers convert ``tokenizer.model`` on load: its LlamaConverter crashes on some
SentencePiece BPE models (FACTS.md), and its Llama pipeline (a Metaspace pre-tokenizer with
``prepend_scheme="first"``) does not add SentencePiece's dummy prefix to text that already starts
with a space, so ids differ from ``sentencepiece`` on such text. A model evaluated through
lm-evaluation-harness must see exactly the ids it was trained on, so we write the pipeline
ourselves:

- normalizer: prepend "▁" (the dummy prefix, when the model has one), then replace every " " by "▁"
  (SentencePiece's identity normalization keeps all whitespace);
- model: BPE over the SentencePiece vocabulary, byte fallback for characters not in it, unknown
  pieces fused. The merge list holds every pair (a, b) whose concatenation is a vocabulary piece,
  ranked by that piece's id: SentencePiece BPE merges the adjacent pair whose result has the best
  score, and piece ids are in score order, so lowest rank == best score and both encoders agree;
- decoder: "▁" -> " ", byte pieces -> bytes, and strip the one leading space of the dummy prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sentencepiece import sentencepiece_model_pb2

# SentencePiece piece types (sentencepiece_model.proto: ModelProto.SentencePiece.Type).
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6
_SPACE = "\u2581"


def read_sentencepiece_model(model_path: Path) -> sentencepiece_model_pb2.ModelProto:
    """Parse a SentencePiece ``.model`` file; a clear error names the file when it is not one."""
    proto = sentencepiece_model_pb2.ModelProto()
    try:
        proto.ParseFromString(Path(model_path).read_bytes())
    except Exception as exc:  # protobuf raises DecodeError, unrelated to our types
        raise ValueError(f"{model_path}: not a SentencePiece model ({exc})") from exc
    if not proto.pieces:
        raise ValueError(f"{model_path}: SentencePiece model has no pieces")
    return proto


def _bpe_merges(vocab: dict[str, int], mergeable: set[str]) -> list[list[str]]:
    """Every split of a mergeable piece into two vocabulary pieces, ranked by the piece's id."""
    ranked: list[tuple[int, int, int, str, str]] = []
    for piece in mergeable:
        piece_id = vocab[piece]
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((piece_id, vocab[left], vocab[right], left, right))
    ranked.sort()
    return [[left, right] for _, _, _, left, right in ranked]


def build_tokenizer_json(model_path: Path) -> dict:
    """The ``tokenizer.json`` document for a SentencePiece BPE model, ids identical to it."""
    proto = read_sentencepiece_model(model_path)
    if proto.trainer_spec.model_type != 2:  # ModelType.BPE
        raise ValueError(
            f"{model_path}: only SentencePiece BPE models are supported "
            f"(model_type is {proto.trainer_spec.model_type}, BPE is 2)"
        )
    if proto.normalizer_spec.remove_extra_whitespaces:
        raise ValueError(
            f"{model_path}: remove_extra_whitespaces=true cannot be reproduced exactly by the "
            "Hugging Face pipeline; LLaMA tokenizers keep whitespace as is"
        )
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    mergeable = {p.piece for p in proto.pieces if p.type in (_NORMAL, _USER_DEFINED)}
    merges = _bpe_merges(vocab, mergeable)

    unk_piece = next((p.piece for p in proto.pieces if p.type == _UNKNOWN), None)
    dummy_prefix = proto.normalizer_spec.add_dummy_prefix
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": _added_tokens(proto),
        "normalizer": {"type": "Sequence", "normalizers": _normalizers(dummy_prefix)},
        "pre_tokenizer": None,
        "post_processor": _bos_template(proto),
        "decoder": {"type": "Sequence", "decoders": _decoders(dummy_prefix)},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": unk_piece,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": proto.trainer_spec.byte_fallback,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def _added_tokens(proto: Any) -> list[dict]:
    """The unknown and control pieces, as special tokens the HF pipeline never splits."""
    return [
        {
            "id": i,
            "content": p.piece,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, p in enumerate(proto.pieces)
        if p.type in (_UNKNOWN, _CONTROL)
    ]


def _normalizers(dummy_prefix: bool) -> list[dict]:
    """SentencePiece's normalisation as HF steps: the dummy prefix, then spaces as U+2581."""
    steps: list[dict] = [{"type": "Prepend", "prepend": _SPACE}] if dummy_prefix else []
    steps.append({"type": "Replace", "pattern": {"String": " "}, "content": _SPACE})
    return steps


def _decoders(dummy_prefix: bool) -> list[dict]:
    """The inverse: U+2581 back to spaces, byte pieces back to bytes, the prefix stripped."""
    steps: list[dict] = [
        {"type": "Replace", "pattern": {"String": _SPACE}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if dummy_prefix:
        steps.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return steps


def _bos_template(proto: Any) -> dict | None:
    """BOS before each sequence, as SentencePiece's encoder with add_bos does; None: no BOS."""
    if proto.trainer_spec.bos_id < 0:
        return None
    bos, bos_id = proto.trainer_spec.bos_piece, proto.trainer_spec.bos_id
    return {
        "type": "TemplateProcessing",
        "single": [
            {"SpecialToken": {"id": bos, "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
        ],
        "pair": [
            {"SpecialToken": {"id": bos, "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": bos, "type_id": 1}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }


def special_token_names(model_path: Path) -> dict[str, str | None]:
    """The unk/bos/eos/pad pieces of a SentencePiece model (None when the model has none)."""
    spec = read_sentencepiece_model(model_path).trainer_spec

    def piece(idx: int, name: str) -> str | None:
        return name if idx >= 0 else None

    return {
        "unk_token": piece(spec.unk_id, spec.unk_piece),
        "bos_token": piece(spec.bos_id, spec.bos_piece),
        "eos_token": piece(spec.eos_id, spec.eos_piece),
        "pad_token": piece(spec.pad_id, spec.pad_piece),
    }


def write_hf_tokenizer(model_path: Path, out_dir: Path, model_max_length: int) -> list[Path]:
    """Write tokenizer.model, tokenizer.json, tokenizer_config.json and special_tokens_map.json.

    ``tokenizer_class`` is PreTrainedTokenizerFast, not LlamaTokenizer: transformers' LlamaTokenizer
    throws away the normalizer of ``tokenizer.json`` and installs its own Metaspace pipeline, which
    drops the dummy prefix before leading whitespace (ids then differ from SentencePiece on e.g.
    indented lines). PreTrainedTokenizerFast uses ``tokenizer.json`` exactly as written, so ids
    equal SentencePiece's, and no SentencePiece conversion (LlamaConverter) runs on load.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    model_copy = out_dir / "tokenizer.model"
    model_copy.write_bytes(Path(model_path).read_bytes())
    written.append(model_copy)

    tokenizer_json = out_dir / "tokenizer.json"
    tokenizer_json.write_text(json.dumps(build_tokenizer_json(model_path), ensure_ascii=False))
    written.append(tokenizer_json)

    specials = {k: v for k, v in special_token_names(model_path).items() if v is not None}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "add_bos_token": "bos_token" in specials,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "padding_side": "left",
    }
    config_path = out_dir / "tokenizer_config.json"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    written.append(config_path)

    specials_path = out_dir / "special_tokens_map.json"
    specials_path.write_text(json.dumps(specials, indent=2) + "\n")
    written.append(specials_path)
    return written
