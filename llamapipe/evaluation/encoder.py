"""The run's SentencePiece tokenizer as evaluation and generation use it."""

from __future__ import annotations

from pathlib import Path

import sentencepiece as spm


class SentencePieceEncoder:
    """Encode text to ids without BOS/EOS (callers add BOS where the model expects it).

    Wraps ``sentencepiece`` directly so that scoring uses exactly the ids training saw.
    """

    def __init__(self, model_path: Path) -> None:
        model_path = Path(model_path)
        if not model_path.exists():
            raise FileNotFoundError(f"{model_path}: tokenizer model not found (run the tokenizer)")
        self.path = model_path
        self.processor = spm.SentencePieceProcessor(model_file=str(model_path))
        self.bos_id = self.processor.bos_id()
        self.eos_id = self.processor.eos_id()
        if self.bos_id < 0:
            raise ValueError(
                f"{model_path}: tokenizer has no BOS piece; LLaMA inputs start with BOS"
            )

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self.processor.decode(ids)
