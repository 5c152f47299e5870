"""Plain-text books: Project Gutenberg files (header, licence footer stripped) and JSONL.

Project Gutenberg has used many header styles over 30 years:
``*** START OF THIS PROJECT GUTENBERG EBOOK X ***``, ``***START OF THE PROJECT GUTENBERG
EBOOK``, markers whose title wraps onto the next line, the 1990s ``*END*THE SMALL PRINT!``
block, and files with a BOM and CRLF line ends. The text between the last start marker of the
header and the first end marker after it is the book; then the producer credits ("Produced
by ..."), leftover Gutenberg lines next to the markers, and transcriber's notes are removed.

A JSONL input holds one book per line, ``{"title": ..., "text": ...}`` (the Books3 layout);
its text is cleaned the same way, which is a no-op for text without Gutenberg markers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from llamapipe.io import as_path, open_input, ref_name

ErrorCallback = Callable[[str | None, str], None]

_START_RE = re.compile(
    r"^\W*(?:start of (?:the |this )?project gutenberg|\*?end\*?the small print"
    r"|end the small print)",
    re.IGNORECASE,
)
_END_RE = re.compile(
    r"^\W*(?:end of (?:the |this )?project gutenberg|end of project gutenberg)",
    re.IGNORECASE,
)
#: Paragraphs next to the markers that are Gutenberg/producer boilerplate, not the book.
_BOILERPLATE_RE = re.compile(
    r"project gutenberg|gutenberg\.org|gutenberg\.net|pgdp\.net|distributed proofread"
    r"|^\W*(?:e-?text |ebook )?(?:produced|prepared|transcribed|scanned|created) by\b"
    r"|^\W*this (?:e-?text|e-?book|file) (?:was|is)\b|^\W*html version by\b"
    r"|^\W*updated editions will replace|\be-?texts?\b",
    re.IGNORECASE,
)
_TRANSCRIBER_PARA_RE = re.compile(r"^\W*transcriber'?s?['’]?s? notes?\b", re.IGNORECASE)
_TRANSCRIBER_BRACKET_RE = re.compile(
    r"\[\s*(?:transcriber|note of transcriber|etext editor)['’]?s?\s*notes?\b[^\]]*\]",
    re.IGNORECASE,
)
_TITLE_RE = re.compile(r"^title:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
#: ``Title:`` glued to the text before it on one line (a lost line break, CR-only line ends):
#: the title runs to the line end or to the next header field glued after it.
_GLUED_TITLE_RE = re.compile(
    r"(?<=\s)title:[ \t]*(.+?)[ \t]*(?=[\r\n]|$|\s(?:author|release date|posting date|"
    r"last updated|language|translator|editor|illustrator|credits|character set encoding):)",
    re.IGNORECASE,
)
_RELEASE_RE = re.compile(r"^release date:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_EBOOK_NO_RE = re.compile(r"\[\s*e-?(?:book|text)\s*#\s*(\d+)\s*\]", re.IGNORECASE)
_FILENAME_NO_RE = re.compile(r"(?:^|[^0-9a-z])pg(\d+)|^(\d+)(?:-\d)?\.txt$", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_CHARSET_RE = re.compile(r"character set encoding:\s*([\w-]+)", re.IGNORECASE)
#: How many paragraphs at each end of the book are searched for producer boilerplate.
_EDGE_PARAGRAPHS = 12


@dataclass(slots=True)
class Book:
    """A cleaned book and what its header said about it."""

    key: str  # unique per input: the file path, or "<path>@<byte offset>" for JSONL records
    title: str
    text: str
    path: str
    ebook_number: int | None = None
    release_year: int | None = None
    header_found: bool = False
    footer_found: bool = False
    raw_bytes: int = 0  # size of the input (file or JSONL line) before cleaning


@dataclass(slots=True)
class StrippedText:
    text: str
    header: str
    header_found: bool
    footer_found: bool


def normalize_newlines(text: str) -> str:
    """Drop a BOM, turn CRLF/CR into LF."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _marker_end(lines: list[str], i: int) -> int:
    """Index after a marker, including a title that wraps onto the next lines up to ``***``."""
    line = lines[i].rstrip()
    if _START_RE.match(line) and not line.endswith("*") and "small print" not in line.lower():
        for j in range(i + 1, min(i + 4, len(lines))):
            if lines[j].rstrip().endswith("***"):
                return j + 1
            if not lines[j].strip():
                break
    return i + 1


def strip_gutenberg(text: str) -> StrippedText:
    """The book between the Gutenberg header and footer, minus producer and transcriber notes."""
    text = normalize_newlines(text)
    lines = text.split("\n")
    start = 0
    header_found = False
    search_limit = max(len(lines) // 2, 1)
    for i, line in enumerate(lines[:search_limit]):
        if _START_RE.match(line):
            start = _marker_end(lines, i)
            header_found = True
    end = len(lines)
    footer_found = False
    for i in range(start, len(lines)):
        if _END_RE.match(lines[i]):
            end = i
            footer_found = True
            break
    header = "\n".join(lines[:start]) if header_found else ""
    body = "\n".join(lines[start:end])
    return StrippedText(
        text=remove_notes(body),
        header=header,
        header_found=header_found,
        footer_found=footer_found,
    )


def remove_notes(body: str) -> str:
    """Drop producer credits near the ends and transcriber's notes anywhere."""
    body = _TRANSCRIBER_BRACKET_RE.sub("", body)
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    keep = [True] * len(paragraphs)
    edge = set(range(min(_EDGE_PARAGRAPHS, len(paragraphs))))
    edge |= set(range(max(len(paragraphs) - _EDGE_PARAGRAPHS, 0), len(paragraphs)))
    for i, para in enumerate(paragraphs):
        stripped = para.strip()
        if _TRANSCRIBER_PARA_RE.match(stripped):
            keep[i] = False
        elif i in edge and (_BOILERPLATE_RE.search(stripped) or set(stripped) <= set("*- ")):
            keep[i] = False
    return "\n\n".join(p.strip("\n").rstrip() for p, k in zip(paragraphs, keep, strict=True) if k)


def decode_book(data: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes; else the header's declared charset; else
    Windows-1252, which is what most old "ISO-8859-1" Gutenberg files really are."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET_RE.search(data[:4000].decode("ascii", errors="ignore"))
    if declared:
        try:
            return data.decode(declared.group(1))
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("cp1252", errors="replace")


def header_facts(header: str, path: str) -> tuple[str, int | None, int | None]:
    """(title, ebook number, release year) from a Gutenberg header and the file name."""
    title_match = _TITLE_RE.search(header) or _GLUED_TITLE_RE.search(header)
    title = title_match.group(1).strip() if title_match else ""
    number: int | None = None
    release: int | None = None
    release_match = _RELEASE_RE.search(header)
    if release_match:
        year = _YEAR_RE.search(release_match.group(1))
        release = int(year.group(1)) if year else None
        no = _EBOOK_NO_RE.search(release_match.group(1))
        number = int(no.group(1)) if no else None
    if number is None:
        name_match = _FILENAME_NO_RE.search(Path(path).name)
        if name_match:
            number = int(name_match.group(1) or name_match.group(2))
    return title, number, release


class NotTextError(ValueError):
    """A file offered as a book that is binary (an archive, an image, a PDF, ...)."""


#: Bytes never found in text of any 8-bit or UTF-8 encoding, except tab, LF, FF, CR, ESC.
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"


def binary_reason(data: bytes, sample: int = 1 << 16) -> str | None:
    """Why ``data`` is not a text file, or None. Decoding a binary as cp1252 never fails, so a
    zip or PDF would become a "book" of mojibake: a NUL byte, or more than 1% control bytes in
    the first 64 KiB, is binary (text has neither; UTF-16 books are not Gutenberg's)."""
    head = data[:sample]
    if b"\x00" in head:
        return f"binary file, not a text book (NUL byte at offset {head.index(0)})"
    controls = sum(head.count(bytes([b])) for b in _BINARY_BYTES)
    if head and controls > 0.01 * len(head):
        return f"binary file, not a text book ({controls} control bytes in the first {len(head)})"
    return None


def read_text_book(path: str | Path) -> Book:
    """One plain-text book file (local or remote), cleaned (NotTextError for a binary file)."""
    path = as_path(path)
    with open_input(path) as handle:
        data = handle.read()
    reason = binary_reason(data)
    if reason is not None:
        raise NotTextError(reason)
    stripped = strip_gutenberg(decode_book(data))
    title, number, release = header_facts(stripped.header, str(path))
    return Book(
        key=str(path),
        title=title or ref_name(str(path)).rsplit(".", 1)[0],
        text=stripped.text,
        path=str(path),
        ebook_number=number,
        release_year=release,
        header_found=stripped.header_found,
        footer_found=stripped.footer_found,
        raw_bytes=len(data),
    )


def iter_jsonl_books(
    path: str | Path,
    on_error: ErrorCallback | None = None,
    byte_range: tuple[int, int] | None = None,
) -> Iterator[Book]:
    """Books of a ``{title, text}`` JSONL file (``.jsonl`` or ``.jsonl.gz``), cleaned.

    ``byte_range=(start, end)`` (uncompressed files only) reads the lines that *begin* in
    ``[start, end)``, so one large file (Books3 is a single ~100 GB JSONL) splits into shards
    that together read every line exactly once. A book's key is ``<path>@<byte offset>``,
    stable whatever the split.
    """
    path = as_path(path)
    if str(path).endswith(".gz"):
        if byte_range is not None and byte_range[0] > 0:
            raise ValueError(f"{path}: a gzip file cannot be read from a byte offset")
        with open_input(path, decompress_by_name=True) as handle:
            yield from _jsonl_books(path, handle, 0, None, on_error)
        return
    start, end = byte_range if byte_range is not None else (0, None)
    with open_input(path) as handle:
        if start > 0:
            handle.seek(start - 1)
            handle.readline()  # the line holding byte start-1 belongs to the previous range
        yield from _jsonl_books(path, handle, handle.tell(), end, on_error)


def _jsonl_books(
    path: Path,
    handle: IO[bytes],
    position: int,
    end: int | None,
    on_error: ErrorCallback | None,
) -> Iterator[Book]:
    while end is None or position < end:
        raw = handle.readline()
        if not raw:
            break
        offset, position = position, position + len(raw)
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8", errors="replace"))
            text = record["text"]
            if not isinstance(text, str):
                raise TypeError("'text' is not a string")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            if on_error is not None:
                on_error(f"line at byte {offset}", f"bad book record: {exc!s}")
            continue
        stripped = strip_gutenberg(text)
        title = str(record.get("title") or "").strip()
        header_title, number, release = header_facts(stripped.header, "")
        yield Book(
            key=f"{path}@{offset}",
            title=title or header_title,
            text=stripped.text,
            path=str(path),
            ebook_number=number,
            release_year=release,
            header_found=stripped.header_found,
            footer_found=stripped.footer_found,
            raw_bytes=len(raw),
        )


def is_jsonl(path: str | Path) -> bool:
    return str(path).endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson"))
