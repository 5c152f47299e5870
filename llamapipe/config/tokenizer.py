"""The ``[tokenizer]`` section: SentencePiece BPE training and encoding into token shards.

Defaults are LLaMA's (paper section 2.1 and the released tokenizer.model's trainer spec):
BPE, 32000 pieces, digits split, byte fallback, identity normalization, whitespace kept as is,
a dummy prefix, character coverage 0.99995, ids unk 0 / bos 1 / eos 2 and no pad piece.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from llamapipe.config.base import StrictModel
from llamapipe.recipe import TOKENIZER_VOCAB_SIZE

#: 256 byte pieces + unk, bos, eos: the smallest vocabulary byte fallback can work with.
MIN_VOCAB_SIZE = 256 + 3


class TokenizerConfig(StrictModel):
    """``[tokenizer]``: how the tokenizer is trained and how documents are encoded."""

    vocab_size: int = Field(default=TOKENIZER_VOCAB_SIZE, ge=MIN_VOCAB_SIZE + 1)
    model_type: Literal["bpe"] = "bpe"
    character_coverage: float = Field(default=0.99995, gt=0.0, le=1.0)
    split_digits: bool = True
    byte_fallback: bool = True
    normalization_rule_name: Literal["identity"] = "identity"
    remove_extra_whitespaces: bool = False
    add_dummy_prefix: bool = True
    allow_whitespace_only_pieces: bool = True
    max_sentence_length: int = Field(
        default=4192,  # LLaMA's tokenizer.model trainer spec
        gt=0,
        description="Bytes; longer training lines are cut into pieces (never dropped).",
    )
    sample_bytes: int = Field(
        default=1_000_000_000,
        gt=0,
        description="Bytes of training text sampled from the mixture, proportional to weights.",
    )
    num_threads: int = Field(default=2, ge=1, description="SentencePiece trainer threads.")
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = -1
    add_bos: bool = Field(default=True, description="Prepend BOS to every encoded document.")
    add_eos: bool = Field(default=False, description="Append EOS to every encoded document.")
    encode_batch_documents: int = Field(
        default=512, gt=0, description="Documents encoded per SentencePiece call."
    )
    encode_threads: int = Field(
        default=1, ge=1, description="SentencePiece threads per encode worker."
    )

    @model_validator(mode="after")
    def _distinct_special_ids(self) -> TokenizerConfig:
        ids = [i for i in (self.unk_id, self.bos_id, self.eos_id, self.pad_id) if i >= 0]
        if len(ids) != len(set(ids)):
            raise ValueError("unk_id, bos_id, eos_id and pad_id must be distinct")
        if any(i >= self.vocab_size for i in ids):
            raise ValueError("special token ids must be below vocab_size")
        if self.unk_id < 0:
            raise ValueError("unk_id must be >= 0 (SentencePiece requires an unknown piece)")
        return self
