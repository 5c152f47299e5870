"""CCNet normalization and line hash, pinned by known vectors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from llamapipe.text.ccnet_normalize import (
    UNICODE_PUNCT,
    hash_lines,
    line_hash,
    normalize_for_dedup,
    normalize_for_lm,
)


def test_known_hash_vectors() -> None:
    assert line_hash(normalize_for_dedup("Hello World 2019!")) == 4213747061662223874
    assert line_hash(normalize_for_dedup("")) == 957977401221134810
    assert hash_lines(["Hello World 2019!", ""]).tolist() == [
        4213747061662223874,
        957977401221134810,
    ]


def test_hash_is_first_8_sha1_bytes_little_endian() -> None:
    line = "hello world 0000!"
    digest = hashlib.sha1(line.encode("utf-8")).digest()
    assert line_hash(line) == int.from_bytes(digest[:8], "little")
    assert hash_lines([line]).dtype == np.uint64


def test_dedup_normalization_strips_lowercases_and_zeroes_digits_of_every_script() -> None:
    # ASCII, Arabic-Indic, Devanagari, Thai, fullwidth and Bengali digits all become "0".
    assert normalize_for_dedup("  Année 2019 ٢٠١٩ २०१९ ๒๐๑๙ ２０１９ ২০১৯ ") == (
        "année 0000 0000 0000 0000 0000 0000"
    )


def test_dedup_normalization_deletes_the_unicode_punctuation_set() -> None:
    # every character of CCNet's table is deleted (digits first become 0: "１" -> "0")
    for char in UNICODE_PUNCT:
        expected = "a0b" if char == "１" else "ab"
        assert normalize_for_dedup(f"a{char}b") == expected, char
    assert normalize_for_dedup("「你好」，世界！（测试）【注】…") == "你好世界测试注"
    assert normalize_for_dedup("“Quoted” — «guillemets» – ’tis") == "quoted  guillemets  tis"


def test_dedup_normalization_keeps_ascii_punctuation_and_accents() -> None:
    text = 'Crème brûlée: "quotes", (parens) & [brackets]; it\'s 100% fine?!'
    assert normalize_for_dedup(text) == (
        'crème brûlée: "quotes", (parens) & [brackets]; it\'s 000% fine?!'
    )


def test_dedup_normalization_removes_non_printing_characters() -> None:
    assert normalize_for_dedup("a\x00b\x07c\x7fd\x85e\x9ff\tg") == "abcdefg"


def test_table_is_cc_nets() -> None:
    # CCNet's normaliser table has 34 distinct characters (see report: RECIPE says 35).
    assert len(UNICODE_PUNCT) == 34
    assert all(not ch.isascii() for ch in UNICODE_PUNCT)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Crème Brûlée, Ça Va?", "creme brulee, ca va?"),
        ("Year ٢٠١٩ and 2019", "year 0000 and 0000"),
        ("「Hi」，ok！ 50％ — done…", '"hi",ok! 00%  -  done...'),  # CCNet: "—" -> " - "
        ("tab\there\x07", "tabhere"),
        ("   ", ""),
    ],
)
def test_lm_normalization(raw: str, expected: str) -> None:
    assert normalize_for_lm(raw) == expected


def test_ascii_fast_path_matches_the_general_rules(realdata) -> None:
    import llamapipe.text.ccnet_normalize as ccn
    from llamapipe.formats.wet import read_wet

    def general(line: str) -> str:
        line = line.strip()
        if not line:
            return line
        line = ccn._DIGIT_RE.sub("0", line.lower())
        return ccn._PUNCT_OR_NON_PRINTING_RE.sub("", line)

    path = realdata / "commoncrawl" / "CC-MAIN-2019-30-sample-00.warc.wet.gz"
    lines = [line for rec in read_wet(str(path)) for line in rec.raw_content.split("\n")]
    lines += ["Tab\there 2019\x7f", "A\x00B\x1fC 42"]
    assert sum(line.isascii() for line in lines) > 1000
    assert [normalize_for_dedup(line) for line in lines] == [general(line) for line in lines]
    assert hash_lines(lines).tolist() == [line_hash(general(line)) for line in lines]

    def general_lm(line: str) -> str:
        line = ccn.strip_accents(line.strip().lower())
        line = ccn._DIGIT_RE.sub("0", line)
        line = "".join(UNICODE_PUNCT.get(c, c) for c in line)
        return ccn._NON_PRINTING_RE.sub("", line)

    assert [normalize_for_lm(line) for line in lines] == [general_lm(line) for line in lines]


# ---- whole-document forms: same lines as the per-line functions ------------------------------

# Cases where a rule could act across a line boundary, or where the joined text cannot be split
# back: final sigma at line ends and starts, combining marks at a line start after marks at the
# previous line's end, lines holding a newline, whitespace-only and unstripped lines, a
# non-ASCII character that lowercases to ASCII (Kelvin sign), C1 controls and Unicode spaces.
EDGE_DOCUMENTS = [
    ["ΟΔΟΣ", "ΣΑ", "ΑΣ ", " Σ", "Σ"],
    ["a\u0301\u0316", "\u0316\u0301b", "é"],
    ["first\nsecond", "third"],
    ["", "  ", "\t", "x"],
    ["K\u212a 12", "İi ١٢"],
    ["a\rb", "\x85c\u2028d\u3000", "\x1cq\x1f"],
    ["—–…", "１２", "「x」", "〈y〉 \u2329z\u232a"],
    [""],
    [],
]


def _documents(realdata) -> list[list[str]]:
    """Every document of the real WET samples and data/, as raw_content lines, plus unstripped
    payload lines straight from the WARC records (CR line ends, blank lines)."""
    import gzip
    import json

    from llamapipe.formats.wet import read_wet

    cc = realdata / "commoncrawl"
    wets = [
        *sorted(cc.glob("*.wet.gz")),
        cc / "ccnet_tests_sample.warc.txt",
        *sorted(cc.glob("resiliparse_*.warc.gz")),
    ]
    docs = [rec.raw_content.split("\n") for path in wets for rec in read_wet(str(path))]
    with gzip.open(cc / "ccnet_cc_en_head-0091.jsonl.gz", "rt", encoding="utf-8") as fh:
        docs += [json.loads(line)["text"].split("\n") for line in fh]
    raw = cc / "CC-MAIN-2019-30-sample-00.warc.wet.gz"
    with gzip.open(raw, "rt", encoding="utf-8", newline="") as fh:
        payload = fh.read(300_000).split("\n")
    docs += [payload[i : i + 300] for i in range(0, len(payload), 300)]
    return docs + EDGE_DOCUMENTS


def test_whole_document_forms_match_the_per_line_functions(realdata) -> None:
    from llamapipe.text.ccnet_normalize import normalize_lines_for_lm

    docs = _documents(realdata)
    assert sum(not "".join(doc).isascii() for doc in docs) > 200  # Cyrillic, CJK, accents...
    for doc in docs:
        assert normalize_lines_for_lm(doc) == [normalize_for_lm(line) for line in doc], doc
        expected = [line_hash(normalize_for_dedup(line)) for line in doc]
        assert hash_lines(doc).tolist() == expected, doc


def test_classifier_text_is_the_per_line_definition(realdata) -> None:
    """The reference classifier's input (one pass over the page) equals its definition: each
    line LM-normalized, the empty ones dropped, joined by spaces."""
    from llamapipe.sources.commoncrawl.classifier import classifier_text

    for doc in _documents(realdata):
        text = "\n".join(doc)
        expected = " ".join(n for line in text.split("\n") if (n := normalize_for_lm(line)))
        assert classifier_text(text) == expected, doc


def test_whole_document_table_flags_exactly_the_characters_a_rule_changes() -> None:
    """The code-point tables against the per-line functions, for every non-ASCII character
    (a character is flagged iff the per-line rules change it: digits, C1, table, marks)."""
    import unicodedata

    import llamapipe.text.ccnet_normalize as ccn

    dedup = ccn._changed_code_points(False)
    lm = ccn._changed_code_points(True)
    assert not dedup[:128].any() and not lm[:128].any()
    chars = [chr(c) for c in range(128, 0x110000) if not 0xD800 <= c < 0xE000]
    # Digits: exactly what the regex matches (its own definition), also when NOT flagged.
    digits = {ord(c) for c in ccn._DIGIT_RE.findall("".join(chars))}
    others = {ord(c) for c in (*ccn._C1_CONTROLS, *UNICODE_PUNCT) if not c.isascii()}
    assert set(map(int, dedup.nonzero()[0])) == digits | others
    marks = {ord(c) for c in chars if unicodedata.category(c) == "Mn"}
    assert set(map(int, lm.nonzero()[0])) == set(map(int, dedup.nonzero()[0])) | marks
    # Every flagged character changes under the per-line rules, and the rule agrees.
    for code in dedup.nonzero()[0].tolist():
        char = chr(code)
        assert normalize_for_dedup(f"a{char}b") == f"a{ccn._non_ascii_rule(char, False)}b"
    assert normalize_for_lm("a\u0301") == "a"


def test_lone_surrogates_behave_as_in_the_per_line_functions() -> None:
    from llamapipe.text.ccnet_normalize import normalize_lines_for_lm

    assert normalize_lines_for_lm(["x\ud800", "y"]) == [normalize_for_lm("x\ud800"), "y"]
    with pytest.raises(UnicodeEncodeError):
        hash_lines(["x\ud800", "y"])
    with pytest.raises(UnicodeEncodeError):
        line_hash(normalize_for_dedup("x\ud800"))
