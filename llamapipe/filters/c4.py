"""The C4 page rules as filters (C4 built from WET), one class per rule.

The rules are text/c4_rules.py. `C4PageRules` rewrites a page to its kept lines (or removes it
with the page-level reason); `LanguageScore` only stores the fastText language and score (the
attributes); `LanguageCut` is the cheap decision on them, run in its own stage so that editing
``language`` or ``min_language_score`` does not re-run the rules and the LID
(sources/c4_from_wet.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from llamapipe.filters.base import Rejection
from llamapipe.formats.documents import Document
from llamapipe.text.c4_rules import BadWordMatcher, C4LineRules, clean_page


class C4PageRules:
    """The line rules and the page rules that look at lines; ``lines_removed`` tallies the
    line rules over every page seen (the stage adds them to its counts)."""

    name = "c4_page_rules"

    def __init__(self, rules: C4LineRules) -> None:
        self.rules = rules
        self.lines_removed: Counter[str] = Counter()

    def check(self, doc: Document) -> str | None:
        page = clean_page(doc.text, self.rules)
        self.lines_removed.update(page.lines_removed)
        if page.lines is None:
            return page.reason or "unknown"
        doc.text = "\n".join(page.lines)
        return None


class BadWords:
    """A word of the bad-words list anywhere on the page."""

    name = "bad_word"

    def __init__(self, matcher: BadWordMatcher) -> None:
        self.matcher = matcher

    def check(self, doc: Document) -> str | None:
        return "bad_word" if self.matcher.find(doc.text) is not None else None


class LanguageScore:
    """fastText LID on the whole page (lines joined by spaces): ``language``, the rounded
    ``language_score`` and the unrounded ``language_score_exact`` the cut compares."""

    name = "language_id"

    def __init__(self, model: Any) -> None:
        self.model = model

    def check(self, doc: Document) -> None:
        labels, scores = self.model.predict(" ".join(doc.text.split("\n")), k=1)
        score = float(scores[0])
        doc.meta["language"] = labels[0].removeprefix("__label__")
        doc.meta["language_score"] = round(score, 4)
        doc.meta["language_score_exact"] = score


class LanguageCut:
    """Keep pages whose top language is ``language`` with at least ``min_score``."""

    name = "language"

    def __init__(self, language: str, min_score: float) -> None:
        self.language = language
        self.min_score = min_score

    def check(self, doc: Document) -> Rejection | None:
        score = float(doc.meta["language_score_exact"])
        if doc.meta["language"] == self.language and score >= self.min_score:
            return None
        return Rejection("language", score)
