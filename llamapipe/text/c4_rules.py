"""The C4 page rules (T5 paper section 2.2 and the TFDS C4 code), for building C4 from WET.

Line rules, in the order C4 applies them to each stripped line: drop a line with a word longer
than 1000 characters; remove citation markers ([1], [edit], [citation needed]); keep only lines
ending in terminal punctuation (. ! ? ") and not in an ellipsis; drop lines of fewer than 3
words; a kept line containing "lorem ipsum" or a curly bracket drops the whole page (as in the
TFDS code, these page rules look at the candidate lines, so a "{" in a dropped menu line does not
count); drop lines mentioning "javascript" and policy/cookie lines. Then drop the page if fewer
than 5 sentences remain, or if it contains a word of the bad-words list.

Sentence splitting: C4 used NLTK's Punkt tokenizer (a trained model of abbreviations and
sentence starters). We use a regex splitter, ~50x cheaper: a boundary is ``. ! ?`` (plus closing
quotes or brackets) followed by whitespace and an upper-case letter, digit or opening quote,
unless the word before is a known abbreviation or a single-letter initial. It differs from Punkt
on unlisted abbreviations followed by a capitalised word ("approx. Ten") and on sentences
starting in lower case, where it under-splits; so the "5 sentences" rule is, if anything,
slightly stricter than C4's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from llamapipe.text.dedup_keys import hash64

#: Line-ending marks C4 accepts (TFDS ``_END_MARKS``); a trailing "..." is not an ending.
TERMINAL_PUNCTUATION = (".", "!", "?", '"')
ELLIPSIS = "..."
MIN_WORDS_PER_LINE = 3
MIN_SENTENCES = 5
MAX_WORD_LENGTH = 1000
#: Lines containing any of these (lowercased) are boilerplate (TFDS ``_POLICY_SUBSTRINGS``).
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
CITATION_MARKER = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
#: The English LID threshold of C4 (langdetect there, fastText lid.176 here).
MIN_ENGLISH_SCORE = 0.99
#: Sentences per span in the repeated-span dedup.
SPAN_SENTENCES = 3

BADWORDS_RESOURCE = "c4_badwords_en.txt"


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al inc ltd co corp no nos fig figs eq
    eqs vol vols pp p ed eds approx dept est gen gov sen rep rev col lt sgt capt cmdr adm
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k a.m
    p.m ph.d b.a m.a no op ca""".split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")


def split_sentences(text: str) -> list[str]:
    """Sentences of one line (or paragraph) by the regex rule in the module docstring."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start(1)
        before = text[start:end].rstrip("\"'”’)]")
        word = before.rsplit(None, 1)[-1] if before.split() else ""
        stem = word.rstrip(".!?").lower().lstrip("(\"'“‘")
        if word.endswith(".") and (stem in _ABBREVIATIONS or (len(stem) == 1 and stem.isalpha())):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def count_sentences(lines: Iterable[str]) -> int:
    return sum(len(split_sentences(line)) for line in lines)


def normalize_sentence(sentence: str) -> str:
    """The form two sentences are compared in: lower case, whitespace collapsed."""
    return " ".join(sentence.lower().split())


def span_keys(sentences: Sequence[str], span: int = SPAN_SENTENCES) -> list[int]:
    """64-bit keys of every window of ``span`` consecutive sentences (sliding, step 1)."""
    norm = [normalize_sentence(s) for s in sentences]
    keys = []
    for i in range(len(norm) - span + 1):
        blob = "\x1f".join(norm[i : i + span]).encode("utf-8")
        keys.append(hash64(blob))
    return keys


# ---------------------------------------------------------------------------------------------
# Bad words
# ---------------------------------------------------------------------------------------------


def load_badwords(path: str | Path | None = None) -> list[str]:
    """Words/phrases of a bad-words list: ours by default, or a file in LDNOOBW's format."""
    if path is None:
        text = (
            resources.files("llamapipe.text")
            .joinpath("data", BADWORDS_RESOURCE)
            .read_text(encoding="utf-8")
        )
    else:
        text = Path(path).read_text(encoding="utf-8")
    words = [line.strip().lower() for line in text.splitlines()]
    return [w for w in words if w and not w.startswith("#")]


class BadWordMatcher:
    """Finds a listed word as a whole word (C4: ``(?:\\W|^)(words)(?:\\W|$)`` on lowercase)."""

    def __init__(self, words: Iterable[str]) -> None:
        words = sorted({w.lower() for w in words if w}, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?:\W|^)(" + "|".join(map(re.escape, words)) + r")(?:\W|$)")
            if words
            else None
        )

    def find(self, text: str) -> str | None:
        if self._pattern is None:
            return None
        m = self._pattern.search(text.lower())
        return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# Page cleaning
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class C4LineRules:
    min_words_per_line: int = MIN_WORDS_PER_LINE
    min_sentences: int = MIN_SENTENCES
    max_word_length: int = MAX_WORD_LENGTH
    terminal_punctuation: tuple[str, ...] = TERMINAL_PUNCTUATION
    policy_substrings: tuple[str, ...] = POLICY_SUBSTRINGS
    drop_javascript_lines: bool = True


@dataclass
class CleanedPage:
    """Kept lines, or None with the page-level reason; ``lines_removed`` counts line rules."""

    lines: list[str] | None
    reason: str | None = None
    lines_removed: Counter[str] = field(default_factory=Counter)


def clean_page(text: str, rules: C4LineRules = C4LineRules()) -> CleanedPage:
    """Apply the C4 line rules and the page rules that look at lines (see module docstring)."""
    kept: list[str] = []
    removed: Counter[str] = Counter()
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        # A word longer than the limit needs a line longer than it: skip the scan otherwise.
        if len(line) > rules.max_word_length and any(
            len(w) > rules.max_word_length for w in line.split()
        ):
            removed["too_long_word"] += 1
            continue
        line = CITATION_MARKER.sub("", line)
        if not line.endswith(rules.terminal_punctuation) or line.endswith(ELLIPSIS):
            removed["no_terminal_punctuation"] += 1
            continue
        if len(line.split()) < rules.min_words_per_line:
            removed["too_few_words"] += 1
            continue
        lower = line.lower()
        if "lorem ipsum" in lower:
            return CleanedPage(None, "lorem_ipsum", removed)
        if rules.drop_javascript_lines and "javascript" in lower:
            removed["javascript"] += 1
            continue
        if "{" in line:
            return CleanedPage(None, "curly_bracket", removed)
        if any(p in lower for p in rules.policy_substrings):
            removed["policy"] += 1
            continue
        kept.append(line)
    if count_sentences(kept) < rules.min_sentences:
        return CleanedPage(None, "too_few_sentences", removed)
    return CleanedPage(kept, None, removed)


def remove_sentences(lines: Sequence[str], drop: set[int]) -> list[str]:
    """The lines without the sentences whose page-wide index is in ``drop`` (empty lines go).

    Sentence indexes count ``split_sentences`` of each line in order, the same enumeration that
    produced the span keys, so a dropped span removes exactly its sentences.
    """
    out: list[str] = []
    index = 0
    for line in lines:
        sentences = split_sentences(line)
        kept = [s for k, s in enumerate(sentences) if index + k not in drop]
        index += len(sentences)
        if len(kept) == len(sentences):
            out.append(line)
        elif kept:
            out.append(" ".join(kept))
    return out


def page_sentences(lines: Sequence[str]) -> list[str]:
    return [s for line in lines for s in split_sentences(line)]
