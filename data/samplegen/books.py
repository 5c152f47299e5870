"""Gutenberg-style plain-text books (original stories) plus a small books.jsonl.

Header/footer markers come in the styles real Project Gutenberg files use ("*** START OF THE
PROJECT GUTENBERG EBOOK X ***", "*** START OF THIS PROJECT GUTENBERG EBOOK X ***", "***START OF
THE PROJECT GUTENBERG EBOOK X***"); some files have a BOM and CRLF line ends, one has a
transcriber's note, and one book has a second, near-duplicate edition. The license footer is our
own short paraphrase that keeps the recognisable section markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import lexicon as lx
from .common import SEED, rng_for, write_bytes
from .compose import Composer

NARRATIVE = [
    "{hero} walked down to the harbour at {place} before the lamps were lit.",
    "The letter from {friend} had been lying on the table for three days, unopened.",
    "{hero} had never trusted {rival}, and the events of that winter did nothing to change it.",
    "Rain drummed on the roof of the inn while {friend} counted the coins a second time.",
    "It was {friend} who first noticed that the {object} was missing from its shelf.",
    "Nobody in {place} could remember a colder spring, or a stranger one.",
    "{hero} climbed the hill path slowly, stopping now and then to look back at the roofs below.",
    "'You are late again,' said {friend}, without looking up from the fire.",
    "'I had no choice,' {hero} answered. 'The ferry would not leave until the fog lifted.'",
    "{rival} smiled in the way that always meant trouble for somebody else.",
    "The {object} had belonged to {hero}'s grandmother, and before that to nobody knew whom.",
    "By the time the bells of {place} rang midnight, the decision had been made.",
    "There are journeys that begin with a map and journeys that begin with a quarrel; this was the second kind.",
    "{friend} laughed, but it was not a happy sound.",
    "For a long while nobody spoke, and the only noise was the clock above the door.",
    "{hero} thought of the long road to {place2} and of everything that could go wrong on it.",
    "The baker's boy brought news that {rival} had been seen on the coast road at dawn.",
    "Snow had covered the tracks, so {hero} followed the line of the old wall instead.",
    "'Tell me the truth this time,' {hero} said quietly, 'or do not tell me anything at all.'",
    "The old house at {place} smelled of wax, damp wool and apples stored too long.",
    "{friend} unfolded the map and smoothed it flat with both hands.",
    "It was the kind of evening on which promises are easy to make and hard to keep.",
    "{rival} had sold the {object} to a dealer in {place2}, or so the rumour went.",
    "When the coach finally arrived, it was nearly empty, and the driver looked worried.",
    "{hero} wrote three pages that night and burned two of them in the morning.",
    "The river was high, brown and fast, and the ford was out of the question.",
    "'We shall need a boat,' said {friend}, 'and someone who can keep a secret.'",
    "Years later, {hero} would say that this was the moment everything changed.",
    "A dog barked somewhere in the lanes, and then the village was silent again.",
    "Nobody thanked {hero} for the warning, though several people were glad of it later.",
]
OBJECTS = ["silver watch", "ledger", "brass compass", "wooden box", "green notebook", "portrait",
           "key ring", "telescope", "music box", "sealed letter"]


@dataclass
class BookSpec:
    file: str
    ebook_no: int
    style: str  # "the", "this", "nospace"
    bom_crlf: bool
    transcriber: bool
    chapters: int


SPECS = [
    BookSpec("pg90001.txt", 90001, "the", True, False, 14),
    BookSpec("pg90002.txt", 90002, "this", False, True, 10),
    BookSpec("pg90003.txt", 90003, "nospace", True, False, 18),
    BookSpec("pg90004.txt", 90004, "the", False, False, 8),
    BookSpec("pg90005.txt", 90005, "this", True, True, 22),
    BookSpec("pg90006.txt", 90006, "the", False, False, 12),
    BookSpec("pg90007.txt", 90007, "nospace", False, False, 9),
]
# Near-duplicate second edition of pg90001 (same body, other front matter and header style).
DUPLICATE_OF = "pg90001.txt"
DUPLICATE = BookSpec("pg90008.txt", 90008, "this", False, False, 14)
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV",
         "XV", "XVI", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV"]

LICENSE_FOOTER = """
THE FULL PROJECT GUTENBERG LICENSE
PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK

(This is llamapipe's short paraphrase of a Gutenberg-style license footer, written for the
sample data; it is not the real Project Gutenberg license text.)

Section 1. Using and sharing this electronic work

1.A. By reading or copying this file you agree to keep this notice with it.

1.B. The name of the collection is used here only as a label for the sample format.

Section 2. About the collection

Volunteers prepare these texts so that anyone may read them without charge.

Section 3. Donations

Donations are welcome but never required.

Section 4. More information

Visit the collection's home page for news about new texts.
"""


def _markers(style: str, title: str) -> tuple[str, str]:
    t = title.upper()
    if style == "the":
        return (f"*** START OF THE PROJECT GUTENBERG EBOOK {t} ***",
                f"*** END OF THE PROJECT GUTENBERG EBOOK {t} ***")
    if style == "this":
        return (f"*** START OF THIS PROJECT GUTENBERG EBOOK {t} ***",
                f"*** END OF THIS PROJECT GUTENBERG EBOOK {t} ***")
    return (f"***START OF THE PROJECT GUTENBERG EBOOK {t}***",
            f"***END OF THE PROJECT GUTENBERG EBOOK {t}***")


def _wrap_lines(text: str, width: int = 72) -> list[str]:
    """Hard-wrap a paragraph at `width`, as Gutenberg plain-text files are."""
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        lines.append(cur)
    return lines


def _body(c: Composer, chapters: int) -> tuple[str, list[str]]:
    rng = c.rng
    cast = {"hero": c.rng.choice(lx.FIRST_NAMES), "friend": c.rng.choice(lx.FIRST_NAMES),
            "rival": f"Mr. {c.surname()}", "place": c.place(), "object": rng.choice(OBJECTS)}
    title = f"The {cast['object'].title()} of {cast['place']}"
    out: list[str] = []
    for ch in range(chapters):
        out += ["", "", f"CHAPTER {ROMAN[ch]}.", f"{c.fill('{adj}').upper()} NEWS FROM {c.place().upper()}", ""]
        pool: list[str] = []
        for _ in range(rng.randint(10, 20)):
            sentences = []
            for _ in range(rng.randint(2, 6)):
                if not pool:
                    pool = list(NARRATIVE)
                    rng.shuffle(pool)
                sentences.append(c.fill(pool.pop(), None, cast))
            if rng.random() < 0.07:
                sentences = [rng.choice(lx.EN_PARAGRAPHS)]
            out += _wrap_lines(" ".join(sentences)) + [""]
    return title, out


def _book(c: Composer, spec: BookSpec, title: str, author: str, body: list[str], year: int) -> bytes:
    start, end = _markers(spec.style, title)
    front = [
        f"The Project Gutenberg eBook of {title}, by {author}" if spec.style != "nospace"
        else f"Project Gutenberg's {title}, by {author}",
        "",
        "This eBook is for the use of anyone anywhere at no cost and with",
        "almost no restrictions whatsoever. (Sample-format notice written for llamapipe.)",
        "",
        f"Title: {title}",
        "",
        f"Author: {author}",
        "",
        f"Release Date: {c.rng.choice(lx.MONTHS)} {year} [eBook #{spec.ebook_no}]",
        "",
        "Language: English",
        "",
        "Character set encoding: UTF-8",
        "",
        start,
        "",
    ]
    if spec.transcriber and spec.ebook_no % 2:
        # The bracketed one-paragraph style.
        front += ["[Transcriber's Note: Obvious printing errors have been corrected",
                  "silently. Spelling and hyphenation are otherwise as in the original.]", ""]
    elif spec.transcriber:
        front += ["Transcriber's Note:", "Obvious printing errors have been corrected silently.",
                  "Spelling and hyphenation are otherwise as in the original.", ""]
    front += ["", title.upper(), "", f"By {author}", ""]
    tail = ["", "", f"End of the Project Gutenberg EBook of {title}, by {author}", "", end, ""]
    text = "\n".join(front + body + tail) + LICENSE_FOOTER
    if spec.bom_crlf:
        return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    return text.encode("utf-8")


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    c = Composer(rng_for("books", seed))
    counts: dict[str, int] = {}
    kept: dict[str, tuple[str, str, list[str]]] = {}
    for spec in SPECS:
        title, body = _body(c, spec.chapters)
        author = c.person()
        kept[spec.file] = (title, author, body)
        write_bytes(out / "books" / "gutenberg" / spec.file,
                    _book(c, spec, title, author, body, c.rng.randint(1995, 2019)))
        counts[f"books/gutenberg/{spec.file}"] = spec.chapters
    title, author, body = kept[DUPLICATE_OF]
    edited = list(body)
    changed = 0
    for i, line in enumerate(edited):  # a few corrected lines, as in a revised edition
        if line and i % 97 == 0:
            edited[i] = line.replace(" the ", " that ", 1)
            changed += 1
    write_bytes(out / "books" / "gutenberg" / DUPLICATE.file,
                _book(c, DUPLICATE, f"{title} (Revised Edition)", author, edited, 2019))
    counts[f"books/gutenberg/{DUPLICATE.file}"] = DUPLICATE.chapters
    rows = []
    for _ in range(3):
        title, body = _body(c, c.rng.randint(3, 5))
        rows.append({"title": title, "text": "\n".join(body).strip() + "\n"})
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_bytes(out / "books" / "books.jsonl", payload.encode("utf-8"))
    counts["books/books.jsonl"] = len(rows)
    return counts
