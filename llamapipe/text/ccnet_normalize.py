"""CCNet's two text normalizations and its 64-bit line hash.

Two normalizations exist because they serve different jobs:

* ``normalize_for_dedup`` decides when two lines are "the same" for paragraph dedup. It must be
  cheap and must match CCNet bit for bit, otherwise hashes computed here would not agree with
  CCNet's published behaviour (pinned by the known vectors in tests/ccnet).
* ``normalize_for_lm`` prepares text for the SentencePiece + KenLM perplexity filter. It is the
  normalization the CCNet LMs were trained on, so user-supplied cc_net models score correctly.

Facts from facebookresearch/cc_net (its text normaliser and line dedup); the code is ours.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from llamapipe.text.dedup_keys import HASH_BYTES, sha1_hash64

#: CCNet's Unicode punctuation table: the character and its ASCII replacement used by the LM
#: normalization. The dedup normalization deletes these characters instead. (Note: CCNet lists
#: the fullwidth digit one "１"; for dedup it never matters since digits become "0" first.)
UNICODE_PUNCT: dict[str, str] = {
    "，": ",",
    "。": ".",
    "、": ",",
    "„": '"',
    "”": '"',
    "“": '"',
    "«": '"',
    "»": '"',
    "１": '"',
    "」": '"',
    "「": '"',
    "《": '"',
    "》": '"',
    "´": "'",
    "∶": ":",
    "：": ":",
    "？": "?",
    "！": "!",
    "（": "(",
    "）": ")",
    "；": ";",
    "–": "-",
    "—": " - ",
    "．": ". ",
    "～": "~",
    "’": "'",
    "…": "...",
    "━": "-",
    "〈": "<",
    "〉": ">",
    "【": "[",
    "】": "]",
    "％": "%",
    "►": "-",
}

#: Non-printing characters as CCNet defines them: C0 controls, DEL and C1 controls.
NON_PRINTING_CHARS: str = "".join(chr(c) for c in [*range(0, 32), *range(127, 160)])

_DIGIT_RE = re.compile(r"\d")  # str patterns match every Unicode decimal digit (category Nd)
_NON_PRINTING_RE = re.compile("[" + re.escape(NON_PRINTING_CHARS) + "]")
_PUNCT_OR_NON_PRINTING_RE = re.compile(
    "[" + re.escape("".join(UNICODE_PUNCT)) + re.escape(NON_PRINTING_CHARS) + "]"
)
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_PUNCT_TRANSLATION = str.maketrans(UNICODE_PUNCT)
# ASCII lines (most lines of English pages) need neither the Unicode punctuation table nor
# Unicode digit matching: one bytes.translate maps 0-9 to "0" and deletes C0 controls and DEL
# (3-4x faster than the regexes, same result: pinned by tests/ccnet/test_normalize.py).
_ASCII_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_ASCII_CONTROLS = bytes([*range(32), 127])


def _ascii_rules(line: str) -> bytes:
    """Digits -> 0 and controls deleted, for an ASCII line; returns its UTF-8 (= ASCII) bytes."""
    return line.encode("ascii").translate(_ASCII_DIGITS_TO_ZERO, _ASCII_CONTROLS)


def normalize_for_dedup(line: str) -> str:
    """Strip, lowercase, digits -> 0, delete CCNet's Unicode punctuation and control chars."""
    line = line.strip()
    if not line:
        return line
    if line.isascii():
        return _ascii_rules(line.lower()).decode("ascii")
    line = _DIGIT_RE.sub("0", line.lower())
    return _PUNCT_OR_NON_PRINTING_RE.sub("", line)


def _normalized_dedup_bytes(line: str) -> bytes:
    """UTF-8 bytes of normalize_for_dedup(line), skipping the decode on the ASCII path."""
    line = line.strip()
    if line.isascii():
        return _ascii_rules(line.lower())
    return normalize_for_dedup(line).encode("utf-8")


def strip_accents(text: str) -> str:
    """Drop combining marks (category Mn) after NFD decomposition ("é" -> "e").

    Only the distinct non-ASCII characters are looked up (marks are never ASCII), and the
    marks found are deleted by one `str.translate`: a per-character Python loop over the
    whole text costs 5-10x more on accented pages."""
    if text.isascii():
        return text
    nfd = unicodedata.normalize("NFD", text)
    if nfd.isascii():
        return nfd
    category = unicodedata.category
    marks = {ord(c): None for c in set(_NON_ASCII_RE.findall(nfd)) if category(c) == "Mn"}
    return nfd.translate(marks) if marks else nfd


def normalize_for_lm(line: str) -> str:
    """CCNet's LM normalization of ONE line: lowercase, no accents, digits -> 0,
    Unicode punctuation mapped to ASCII, control characters removed.

    Apply it line by line: applied to a whole document it would delete the newlines
    (they are control characters) and glue the last word of a line to the first of the next.
    """
    line = line.strip()
    if not line:
        return line
    line = strip_accents(line.lower())
    if line.isascii():
        return _ascii_rules(line).decode("ascii")  # same digit and control rules, ASCII only
    line = _DIGIT_RE.sub("0", line)
    line = line.translate(_PUNCT_TRANSLATION)
    return _NON_PRINTING_RE.sub("", line)


# ---- Whole-document forms of the two normalizations ------------------------------------------
#
# A page has dozens of lines and calling the per-line functions costs more than their work, so
# the filter stages normalize a page's lines in a few passes over the joined text. Every rule is
# per character except two, and those stop at a newline: lowercasing's final-sigma context (a
# newline is neither cased nor case-ignorable) and NFD's reordering of combining marks (a newline
# is a starter). The passes: lowercase (and NFD for the LM form); then the distinct non-ASCII
# characters that a rule changes are found with one table lookup per character (numpy, on the
# UTF-32 code points) and each is replaced everywhere with `str.replace` (deleted, -> "0", or
# mapped to its ASCII punctuation); then one `bytes.translate` maps the ASCII digits and deletes
# the ASCII controls except the newline. The replacements are printable ASCII other than digits
# 1-9, so the ASCII pass cannot change them again. Pinned against the per-line functions on the
# real samples by tests/ccnet/test_normalize.py.

_ASCII_CONTROLS_BUT_NEWLINE = bytes([*range(10), *range(11, 32), 127])
_C1_CONTROLS = frozenset(NON_PRINTING_CHARS[32:])
_CODE_POINTS = 0x110000


#: The Unicode planes that hold any decimal digit (Nd) or nonspacing mark (Mn): the BMP, the
#: SMP and plane 14 (variation selectors). Scanning only them, not all 1.1M code points, makes
#: the tables ~5x cheaper to build in every worker; tests/ccnet/test_normalize.py checks the
#: tables against a scan of every code point, so a Unicode version that put such characters
#: elsewhere would fail there.
_PLANES_WITH_DIGITS_OR_MARKS = ((0, 0x20000), (0xE0000, 0xF0000))


@functools.cache
def _changed_code_points(for_lm: bool) -> np.ndarray:
    """Boolean table over all code points: the non-ASCII characters a rule changes (built once
    per process, on first use: ~0.02 s for dedup, ~0.05 s with the LM form's combining marks)."""
    table = np.zeros(_CODE_POINTS, dtype=bool)
    for first, end in _PLANES_WITH_DIGITS_OR_MARKS:
        chars = "".join(map(chr, range(first, end)))
        table[[ord(c) for c in _DIGIT_RE.findall(chars)]] = True  # the regex's own digits
        if for_lm:
            category = unicodedata.category
            table[[first + i for i, c in enumerate(chars) if category(c) == "Mn"]] = True
    table[[ord(c) for c in (*_C1_CONTROLS, *UNICODE_PUNCT)]] = True
    table[:128] = False  # ASCII digits and controls: the bytes.translate pass
    return table


def _non_ascii_rule(char: str, for_lm: bool) -> str:
    """What the per-line rules make of a non-ASCII character flagged by the table.

    The categories are disjoint except fullwidth "１", a digit AND in the punctuation table:
    digits are replaced first in both per-line functions, so the digit rule wins here too."""
    if _DIGIT_RE.match(char):
        return "0"
    if char in UNICODE_PUNCT:
        return UNICODE_PUNCT[char] if for_lm else ""
    return ""  # C1 control, or a combining mark (strip_accents)


def _joined_rules(lines: Sequence[str], for_lm: bool) -> bytes | None:
    """UTF-8 of the lines normalized as `normalize_for_lm` / `normalize_for_dedup` would, one
    per line, joined by newlines; None when a line itself holds a newline (then the joined text
    could not be split back into the lines)."""
    text = "\n".join([line.strip() for line in lines])
    if text.count("\n") != len(lines) - 1:
        return None
    text = text.lower()
    if not text.isascii():
        if for_lm:
            text = unicodedata.normalize("NFD", text)
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        changed = codes[_changed_code_points(for_lm)[codes]]
        if changed.size:
            for code in np.unique(changed).tolist():
                char = chr(code)
                text = text.replace(char, _non_ascii_rule(char, for_lm))
    # lone surrogates: kept by the LM form (as normalize_for_lm keeps them), an encoding error
    # for the dedup form (as in line_hash)
    data = text.encode("utf-8", "surrogatepass" if for_lm else "strict")
    return data.translate(_ASCII_DIGITS_TO_ZERO, _ASCII_CONTROLS_BUT_NEWLINE)


def normalize_lines_for_lm(lines: Sequence[str]) -> list[str]:
    """``[normalize_for_lm(line) for line in lines]``, computed on the joined document."""
    if not lines:
        return []
    joined = _joined_rules(lines, for_lm=True)
    if joined is None:
        return [normalize_for_lm(line) for line in lines]
    return joined.decode("utf-8", "surrogatepass").split("\n")


def _normalized_dedup_lines(lines: Sequence[str]) -> list[bytes]:
    """UTF-8 of ``normalize_for_dedup`` of each line, computed on the joined document."""
    joined = _joined_rules(lines, for_lm=False)
    if joined is None:
        return [_normalized_dedup_bytes(line) for line in lines]
    return joined.split(b"\n")


def line_hash(normalized_line: str) -> int:
    """64-bit hash of an already-normalized line: SHA-1 (UTF-8), first 8 bytes little-endian."""
    return sha1_hash64(normalized_line.encode("utf-8"))


def hash_lines(lines: Sequence[str]) -> np.ndarray:
    """Dedup hashes of raw lines as a uint64 array (one entry per line, in order).

    The lines are normalized together (`_normalized_dedup_lines`); the digests are
    concatenated into one bytes buffer and reinterpreted with a single ``np.frombuffer`` call,
    which avoids building one Python int per line.
    """
    if not lines:
        return np.empty(0, dtype=np.uint64)
    sha1 = hashlib.sha1
    buf = b"".join([sha1(line).digest()[:HASH_BYTES] for line in _normalized_dedup_lines(lines)])
    return np.frombuffer(buf, dtype="<u8").astype(np.uint64, copy=False)
