"""Small document rules shared by several sources (empty, too short), one class each.

A rule only says why a document goes; the source lists its rules in order and the runner
(filters/runner.py) applies them. Reasons are the stats.json keys the sources have always used.
"""

from __future__ import annotations

from llamapipe.formats.documents import Document


class EmptyText:
    """A document with no text but whitespace."""

    def __init__(self, reason: str = "empty", name: str | None = None) -> None:
        self.reason = reason
        self.name = name or reason

    def check(self, doc: Document) -> str | None:
        return self.reason if not doc.text.strip() else None


class MinChars:
    """Fewer characters than ``min_chars`` (0 keeps everything, as the paper does)."""

    def __init__(self, min_chars: int, reason: str = "too_short", name: str = "min_chars") -> None:
        self.min_chars = min_chars
        self.reason = reason
        self.name = name

    def check(self, doc: Document) -> str | None:
        return self.reason if len(doc.text) < self.min_chars else None


class MinWords:
    """Fewer whitespace-separated words than ``min_words``."""

    def __init__(self, min_words: int, reason: str = "too_short", name: str = "min_words") -> None:
        self.min_words = min_words
        self.reason = reason
        self.name = name

    def check(self, doc: Document) -> str | None:
        return self.reason if len(doc.text.split()) < self.min_words else None
