"""The bundled sample in data/: every file parses with standard tools, has the documented counts
and the junk/duplicates it promises, and data/generate.py reproduces it byte for byte."""

from __future__ import annotations

import bz2
import collections
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
WET_FILES = sorted((DATA / "commoncrawl").glob("CC-MAIN-2099-00-sample-*.warc.wet.gz"))
MW = "{http://www.mediawiki.org/xml/export-0.10/}"


# ------------------------------------------------------------------------------------------
# Helpers that count what data/README.md documents
# ------------------------------------------------------------------------------------------


def _wet_records(path: Path) -> list:
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, check_digests="raise"):
            body = rec.content_stream().read()
            out.append((rec.rec_type, rec.rec_headers, body))
    return out


def _gzip_members(path: Path) -> int:
    data, n = path.read_bytes(), 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        d.decompress(data)
        data = d.unused_data
        n += 1
    return n


def _jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _wiki_pages(path: Path) -> list[dict]:
    pages = []
    with bz2.open(path, "rb") as fh:
        for _, el in ET.iterparse(fh):
            if el.tag == MW + "page":
                rev = el.find(MW + "revision")
                text_el = rev.find(MW + "text")
                pages.append(
                    {
                        "title": el.findtext(MW + "title"),
                        "ns": int(el.findtext(MW + "ns")),
                        "redirect": el.find(MW + "redirect"),
                        "text": text_el.text or "",
                        "bytes": int(text_el.get("bytes")),
                        "sha1": rev.findtext(MW + "sha1"),
                    }
                )
                el.clear()
    return pages


def _posts(xml_bytes: bytes) -> list[dict[str, str]]:
    return [row.attrib for row in ET.fromstring(xml_bytes.decode("utf-8-sig")).iter("row")]


def _seven_zip_posts(path: Path) -> bytes:
    import py7zr

    with py7zr.SevenZipFile(path, mode="r") as zf:
        assert zf.testzip() is None
        names = zf.getnames()
    assert "Posts.xml" in names
    with tempfile.TemporaryDirectory() as d, py7zr.SevenZipFile(path, mode="r") as zf:
        zf.extract(path=d, targets=["Posts.xml"])
        return (Path(d) / "Posts.xml").read_bytes()


def _documented_counts() -> dict[tuple[str, str], int]:
    """Rows `| `path` | N | what |` of the count table in data/README.md."""
    rows = {}
    for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `([^`]+)` \| (\d+) \| ([^|]+?) \|", line)
        if m:
            rows[(m.group(1), m.group(3).strip())] = int(m.group(2))
    return rows


def _actual_counts() -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for p in WET_FILES:
        recs = _wet_records(p)
        counts[(f"commoncrawl/{p.name}", "conversion records")] = sum(
            r[0] == "conversion" for r in recs
        )
    for p in sorted((DATA / "c4").glob("*.json.gz")):
        counts[(f"c4/{p.name}", "documents")] = len(_jsonl_gz(p))
    counts[("github/github_files.jsonl.gz", "rows")] = len(
        _jsonl_gz(DATA / "github/github_files.jsonl.gz")
    )
    for repo in sorted((DATA / "github/repos").iterdir()):
        n = sum(1 for f in repo.rglob("*") if f.is_file())
        counts[(f"github/repos/{repo.name}", "files")] = n
    for p in sorted((DATA / "wikipedia").glob("*.xml.bz2")):
        pages = _wiki_pages(p)
        key = f"wikipedia/{p.name}"
        counts[(key, "articles")] = sum(pg["ns"] == 0 and pg["redirect"] is None for pg in pages)
        counts[(key, "redirects")] = sum(pg["redirect"] is not None for pg in pages)
        counts[(key, "other-namespace pages")] = sum(pg["ns"] != 0 for pg in pages)
    for p in sorted((DATA / "books/gutenberg").glob("*.txt")):
        text = p.read_bytes().decode("utf-8-sig")
        counts[(f"books/gutenberg/{p.name}", "chapters")] = len(
            re.findall(r"(?m)^CHAPTER [IVXL]+\.", text)
        )
    rows = (DATA / "books/books.jsonl").read_text(encoding="utf-8").splitlines()
    counts[("books/books.jsonl", "books")] = len(rows)
    for p in sorted((DATA / "arxiv").glob("*.tar.gz")):
        with tarfile.open(p, "r:gz") as tf:
            counts[(f"arxiv/{p.name}", "tar members")] = len(tf.getmembers())
    for p in sorted((DATA / "stackexchange").glob("*/Posts.xml")) + sorted(
        (DATA / "stackexchange").glob("*.7z")
    ):
        data = _seven_zip_posts(p) if p.suffix == ".7z" else p.read_bytes()
        rows_ = _posts(data)
        key = str(p.relative_to(DATA))
        types = collections.Counter(r["PostTypeId"] for r in rows_)
        counts[(key, "questions")] = types["1"]
        counts[(key, "answers")] = types["2"]
        counts[(key, "other rows")] = len(rows_) - types["1"] - types["2"]
    return counts


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------


def test_counts_match_readme() -> None:
    documented = _documented_counts()
    actual = _actual_counts()
    assert documented, "data/README.md has no count table"
    assert actual == documented


def test_wet_layout_and_digests() -> None:
    assert len(WET_FILES) == 3
    for i, path in enumerate(WET_FILES):
        recs = _wet_records(path)  # warcio verifies every WARC-Block-Digest (raises on mismatch)
        assert recs[0][0] == "warcinfo"
        assert all(r[0] == "conversion" for r in recs[1:])
        assert _gzip_members(path) == len(recs), "one gzip member per record"
        for _, headers, body in recs[1:]:
            assert int(headers.get_header("Content-Length")) == len(body)
            assert headers.get_header("Content-Type") == "text/plain"
            names = [k for k, _ in headers.headers]
            assert ("WARC-Payload-Digest" in names) == (i == 2), "only file 2 has the modern layout"
            body.decode("utf-8")
        langs = [r[1].get_header("WARC-Identified-Content-Language") for r in recs[1:]]
        if i == 2:  # junk pages have no identified language, as in real modern WET files
            assert {"eng", "deu", "fra", "spa", "rus", "zho"} <= set(langs) and langs.count(
                None
            ) == 3
        else:
            assert set(langs) == {None}
        first = [k for k, _ in recs[1][1].headers]
        assert first[:6] == [
            "WARC-Type",
            "WARC-Target-URI",
            "WARC-Date",
            "WARC-Record-ID",
            "WARC-Refers-To",
            "WARC-Block-Digest",
        ]


def test_wet_has_the_promised_junk_duplicates_and_boilerplate() -> None:
    texts, urls, line_files = [], set(), collections.defaultdict(set)
    for i, path in enumerate(WET_FILES):
        for _, headers, body in _wet_records(path)[1:]:
            text = body.decode("utf-8")
            texts.append(text)
            urls.add(headers.get_header("WARC-Target-URI"))
            for line in text.split("\n"):
                line_files[line].add(i)
    dup = [t for t, n in collections.Counter(texts).items() if n > 1]
    assert len(dup) >= 10, "exact duplicate pages"
    assert sum(len(t) < 300 for t in texts) >= 15, "near-empty pages"
    cross = [ln for ln, files in line_files.items() if len(files) == 3 and len(ln) > 10]
    assert "Accept all cookies" in line_files and len(cross) >= 10, "boilerplate across files"
    assert sum("\ufffd" in t for t in texts) >= 3, "binary-looking junk pages"
    # The crawl holds pages at URLs that English Wikipedia cites (reference classifier positives).
    wiki = "".join(
        p["text"] for p in _wiki_pages(DATA / "wikipedia/enwiki-sample-pages-articles.xml.bz2")
    )
    cited = set(re.findall(r"\|\s*url=(\S+?)\s*[|}]", wiki)) | set(
        re.findall(r"<ref>(https?://[^<\s]+)</ref>", wiki)
    )
    assert len(cited & urls) == 36


def test_c4_rows() -> None:
    for p in sorted((DATA / "c4").glob("*.json.gz")):
        for row in _jsonl_gz(p):
            assert set(row) == {"text", "timestamp", "url"}
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["timestamp"])
            assert all(line.rstrip()[-1] in ".!?'\"" for line in row["text"].split("\n"))


def test_github_rows_and_trees() -> None:
    rows = _jsonl_gz(DATA / "github/github_files.jsonl.gz")
    assert {r["license"] for r in rows} == {"MIT", "Apache-2.0", "BSD-3-Clause", "GPL-3.0"}
    assert all(r["size"] == len(r["content"].encode("utf-8")) for r in rows)
    contents = collections.Counter(r["content"] for r in rows)
    dup = {c for c, n in contents.items() if n > 1}
    assert any(len({r["repo_name"] for r in rows if r["content"] == c}) > 1 for c in dup)
    by_ext = collections.defaultdict(list)
    for r in rows:
        by_ext[r["path"].rsplit(".", 1)[-1]].append(r["content"])
    assert any("#include <" in c for c in by_ext["c"])
    assert all(c.startswith("#!") for c in by_ext["sh"])
    assert {"py", "c", "js", "go", "rs", "sh"} <= set(by_ext)
    assert any(r["path"] == "package-lock.json" for r in rows)
    assert any(r["path"].endswith(".min.js") for r in rows)
    assert any(
        max(len(x) for x in r["content"].split("\n")) >= 2000 and r["path"].endswith(".py")
        for r in rows
    )
    trees = DATA / "github/repos"
    licenses = {
        p.parent.name: p.read_text() for p in trees.glob("*/*") if p.name in ("LICENSE", "COPYING")
    }
    assert "Permission is hereby granted, free of charge" in licenses["tidepool"]
    assert "Apache License" in licenses["quickmap"] and "Version 2.0" in licenses["quickmap"]
    assert (
        "GNU GENERAL PUBLIC LICENSE" in licenses["snapshot"] and "Version 3" in licenses["snapshot"]
    )


def test_wikipedia_dumps() -> None:
    for lang in ("en", "de", "fr"):
        pages = _wiki_pages(DATA / f"wikipedia/{lang}wiki-sample-pages-articles.xml.bz2")
        file_word = {"en": "File", "de": "Datei", "fr": "Fichier"}[lang]
        articles = [p for p in pages if p["ns"] == 0 and p["redirect"] is None]
        joined = "\n".join(p["text"] for p in articles)
        for marker in ("{{Infobox", "<ref>", "== ", "[[", f"[[{file_word}:", "{|"):
            assert marker in joined, (lang, marker)
        redirects = [p for p in pages if p["redirect"] is not None]
        assert all(p["text"].startswith("#") for p in redirects)
        assert {1, 10} <= {p["ns"] for p in pages}
        for p in pages:
            assert p["bytes"] == len(p["text"].encode("utf-8"))
            n = int(hashlib.sha1(p["text"].encode("utf-8")).hexdigest(), 16)
            assert int(p["sha1"], 36) == n
    en = _wiki_pages(DATA / "wikipedia/enwiki-sample-pages-articles.xml.bz2")
    assert sum(len(p["text"]) for p in en if p["ns"] == 0) > 300_000
    assert any("__TOC__" in p["text"] for p in en) and any("<!--" in p["text"] for p in en)


def test_gutenberg_books() -> None:
    files = sorted((DATA / "books/gutenberg").glob("*.txt"))
    assert len(files) == 8
    raw = {p.name: p.read_bytes() for p in files}
    assert sum(b.startswith(b"\xef\xbb\xbf") and b"\r\n" in b for b in raw.values()) >= 2
    text = {k: v.decode("utf-8-sig").replace("\r\n", "\n") for k, v in raw.items()}
    styles = set()
    for t in text.values():
        assert 30_000 <= len(t) <= 150_000
        m = re.search(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG EBOOK", t, re.M)
        assert m and re.search(r"^\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG EBOOK", t, re.M)
        styles.add(m.group(0))
    assert len(styles) == 3
    assert any("Transcriber's Note" in t for t in text.values())

    def body(t: str) -> list[str]:
        return t.split("By ", 1)[1].split("End of the Project Gutenberg")[0].split("\n")[2:]

    a, b = body(text["pg90001.txt"]), body(text["pg90008.txt"])
    changed = sum(x != y for x, y in zip(a, b, strict=True))
    assert 0 < changed < len(a) // 50, "near-duplicate edition: same body, a few lines changed"
    rows = [json.loads(x) for x in (DATA / "books/books.jsonl").read_text().splitlines()]
    assert all(set(r) == {"title", "text"} and len(r["text"]) > 5000 for r in rows)


def test_arxiv_sources() -> None:
    with_section = 0
    for p in sorted((DATA / "arxiv").glob("*.tar.gz")):
        with tarfile.open(p, "r:gz") as tf:
            names = tf.getnames()
            main = tf.extractfile("main.tex").read().decode()
        assert "._main.tex" in names and sum(n.endswith(".tex") for n in names) >= 2
        assert main.startswith("\\documentclass") and "\\begin{abstract}" in main
        assert (
            "\\newcommand{\\norm}[1]" in main and "\\def\\eps" in main and "\\renewcommand" in main
        )
        with_section += "\\section{" in main
    assert with_section == 4, "one tarball has no \\section at all"
    single = gzip.decompress((DATA / "arxiv/2113.00005.gz").read_bytes()).decode()
    assert single.startswith("\\documentclass") and "\\section{" in single
    with tarfile.open(DATA / "arxiv/2113.00001.tar.gz", "r:gz") as tf:
        main = tf.extractfile("main.tex").read().decode()
    assert "\\input{sections/intro}" in main and "\\appendix" in main and "\\%" in main
    assert re.search(r"^%", main, re.M) and re.search(r"[^\\]% \S", main)
    assert "\\begin{thebibliography}" in main


def test_stackexchange_posts() -> None:
    cooking = (DATA / "stackexchange/cooking.stackexchange.com/Posts.xml").read_bytes()
    astronomy = (DATA / "stackexchange/astronomy.stackexchange.com/Posts.xml").read_bytes()
    gardening = _seven_zip_posts(DATA / "stackexchange/gardening.stackexchange.com.7z")
    for data, new_schema in ((cooking, True), (astronomy, False), (gardening, True)):
        rows = _posts(data)
        questions = [r for r in rows if r["PostTypeId"] == "1"]
        assert all(("ContentLicense" in r) == new_schema for r in questions)
        tag_re = r"(\|[\w-]+)+\|" if new_schema else r"(<[\w-]+>)+"
        assert all(re.fullmatch(tag_re, q["Tags"]) for q in questions)
        scores = collections.defaultdict(list)
        for r in rows:
            if r["PostTypeId"] == "2":
                scores[r["ParentId"]].append(int(r["Score"]))
        assert [10, 9, 2, -1] in scores.values()
        assert any(q["Id"] not in scores and q["AnswerCount"] == "0" for q in questions)
        bodies = " ".join(r["Body"] for r in rows)
        assert "<p>" in bodies and "<li>" in bodies and "<pre><code>" in bodies
    assert b"&#xA;" in cooking and b"&lt;p&gt;" in cooking


def _payload(path: Path) -> bytes:
    """Decompressed bytes of a .gz/.bz2 file (container bytes depend on the zlib/bzip2 build)."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".bz2"):
        return bz2.decompress(data)
    return data


def test_generator_is_deterministic(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(DATA / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(DATA)
        for sub in (
            "commoncrawl",
            "c4",
            "github",
            "wikipedia",
            "books",
            "arxiv",
            "stackexchange",
            "eval",
        )
        for p in (DATA / sub).rglob("*")
        if p.is_file()
    )
    assert generated == committed, "data/ holds exactly what the generator writes"
    for rel in generated:
        new, old = tmp_path / rel, DATA / rel
        if new.read_bytes() != old.read_bytes():
            # Same compressor build gives identical bytes; another zlib/bzip2 build may not, but
            # the content must still be identical.
            assert _payload(new) == _payload(old), rel
    # Uncompressed outputs (and the stored .7z) must match byte for byte everywhere.
    for rel in ("stackexchange/gardening.stackexchange.com.7z", "books/gutenberg/pg90001.txt"):
        digest = hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest()
        assert digest == hashlib.sha256((DATA / rel).read_bytes()).hexdigest(), rel


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_other_wiki_languages_are_not_english(lang: str) -> None:
    pages = _wiki_pages(DATA / f"wikipedia/{lang}wiki-sample-pages-articles.xml.bz2")
    words = {"de": (" der ", " und ", " die "), "fr": (" le ", " la ", " et ")}[lang]
    joined = " ".join(p["text"] for p in pages)
    assert all(w in joined for w in words)


def test_seven_zip_reads_in_memory() -> None:
    import py7zr

    data = (DATA / "stackexchange/gardening.stackexchange.com.7z").read_bytes()
    with py7zr.SevenZipFile(io.BytesIO(data), mode="r") as zf:
        assert sorted(zf.getnames()) == ["Posts.xml", "Users.xml"]
