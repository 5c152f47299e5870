"""CCNet's two text normalizations and its 64-bit line hash.

Two normalizations exist because they serve different jobs:

* ``normalize_for_dedup`` decides when two lines are "the same" for paragraph dedup. It must be
  cheap and must match CCNet bit for bit, otherwise hashes computed here would not agree with
  CCNet's published behaviour (pinned by the known vectors in tests/ccnet).
* ``normalize_for_lm`` prepares text for the SentencePiece + KenLM perplexity filter. It is the
  normalization the CCNet LMs were trained on, so user-supplied cc_net models score correctly.

Facts from facebookresearch/cc_net (text_normalizer.py, dedup.py); the code is ours.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

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
_PUNCT_TRANSLATION = str.maketrans(UNICODE_PUNCT)
# ASCII lines (most lines of English pages) need neither the Unicode punctuation table nor
# Unicode digit matching: one bytes.translate maps 0-9 to "0" and deletes C0 controls and DEL
# (3-4x faster than the regexes, same result: pinned by tests/ccnet/test_normalize.py).
_ASCII_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_ASCII_CONTROLS = bytes([*range(32), 127])


def _ascii_rules(line: str) -> bytes:
    """Digits -> 0 and controls deleted, for an ASCII line; returns its UTF-8 (= ASCII) bytes."""
    return line.encode("ascii").translate(_ASCII_DIGITS_TO_ZERO, _ASCII_CONTROLS)


#: Bytes of the SHA-1 digest kept as the line hash (CCNet's HASH_SIZE).
HASH_BYTES = 8


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
    """Drop combining marks after NFD decomposition ("é" -> "e")."""
    if text.isascii():
        return text
    nfd = unicodedata.normalize("NFD", text)
    if nfd.isascii():
        return nfd
    return "".join(c for c in nfd if unicodedata.category(c) != "Mn")


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


def line_hash(normalized_line: str) -> int:
    """64-bit hash of an already-normalized line: SHA-1 (UTF-8), first 8 bytes little-endian."""
    digest = hashlib.sha1(normalized_line.encode("utf-8")).digest()
    return int.from_bytes(digest[:HASH_BYTES], "little")


def hash_lines(lines: Sequence[str]) -> np.ndarray:
    """Dedup hashes of raw lines as a uint64 array (one entry per line, in order).

    The digests are concatenated into one bytes buffer and reinterpreted with a single
    ``np.frombuffer`` call, which avoids building one Python int per line.
    """
    if not lines:
        return np.empty(0, dtype=np.uint64)
    sha1 = hashlib.sha1
    buf = b"".join(sha1(_normalized_dedup_bytes(line)).digest()[:HASH_BYTES] for line in lines)
    return np.frombuffer(buf, dtype="<u8").astype(np.uint64, copy=False)
