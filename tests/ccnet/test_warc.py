"""WARC input of the Common Crawl source, on the real WARC samples: HTML responses become
WET-like text, other records are counted by type, non-UTF-8 pages decode, bad records are
counted, and `llamapipe data build` turns a mixed WET + WARC folder into documents."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator

from llamapipe.formats.documents import read_documents
from llamapipe.formats.warc_html import (
    SKIP_BAD_HTTP,
    SKIP_CONTENT_ENCODING,
    decode_html,
    extract_resiliparse,
    parse_http_response,
    payload,
)
from llamapipe.formats.wet import SKIP_NO_USABLE_RECORD, read_wet
from llamapipe.sources.commoncrawl import FINAL_STAGE, HASHES_STAGE
from tests.ccnet.conftest import require_kenlm, serialize

CC = "commoncrawl"
TRAFILATURA = "DERIVED_trafilatura_tests_cache_110pages"
RESILIPARSE = "resiliparse_CC-MAIN-20200808165417-20200808195417-00395.sample.warc.gz"
WHIRLWIND = "whirlwind_CC-MAIN-2024-22.warc.gz"
WHIRLWIND_WET = "whirlwind_CC-MAIN-2024-22.warc.wet.gz"
RUSSIAN_URL = "http://01spb.ru/company/"


def _read(path: Path | str) -> tuple[list, Counter]:
    skipped: Counter = Counter()
    records = list(read_wet(str(path), on_skip=lambda reason, _detail: skipped.update([reason])))
    return records, skipped


def _warc_records(path: Path) -> list[tuple[list[tuple[str, str]], bytes]]:
    """(headers in file order, block) of every record of a real WARC file."""
    with open(path, "rb") as fh:
        return [
            (list(rec.headers.items()), rec.reader.read())
            for rec in ArchiveIterator(fh, parse_http=False)
        ]


def _type(headers: list[tuple[str, str]]) -> str:
    return dict(headers)["WARC-Type"]


def _cjk_share(text: str) -> float:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) / max(len(text), 1)


def test_real_cc_warc_record_types_counted_and_charsets_decoded(realdata: Path) -> None:
    records, skipped = _read(realdata / CC / RESILIPARSE)
    assert len(records) == 16  # every response is a 200 HTML page here
    assert skipped == Counter(
        {
            "skipped_record_type:warcinfo": 1,
            "skipped_record_type:request": 17,
            "skipped_record_type:metadata": 16,
        }
    )
    by_url = {r.url: r for r in records}
    russian = by_url[RUSSIAN_URL]  # windows-1251, declared in the HTTP header
    text = russian.title + russian.raw_content
    assert "\ufffd" not in text
    assert sum("\u0400" <= ch <= "\u04ff" for ch in text) > 0.5 * len(text.replace(" ", ""))
    assert "О компании" in russian.title
    # GBK / GB2312 pages (declared in the header or only in <meta>) read as Chinese
    gbk = [
        by_url["http://0760.jxtdw.com/area/sanxiang/"],
        by_url["http://041696.com/15477/list_6_4.html"],
    ]
    for rec in gbk:
        assert "\ufffd" not in rec.raw_content and _cjk_share(rec.raw_content) > 0.2, rec.url
    # URL, date and the payload digest of the response are kept
    assert russian.date_download == "2020-08-08T18:31:12Z"
    assert russian.digest == "sha1:UBFVOGMHNJKFC2COMXU7TMQVARGCZZDK"
    assert russian.source_domain == "01spb.ru"
    assert russian.cc_segment == RESILIPARSE
    for rec in records:  # WET layout: stripped, non-empty lines without markup
        lines = rec.raw_content.split("\n")
        assert all(line and line == line.strip() for line in lines) and rec.nlines == len(lines)
        assert "<div" not in rec.raw_content and "</" not in rec.raw_content


def test_declared_charsets_of_110_real_pages(realdata: Path) -> None:
    index = [
        json.loads(line)
        for line in (realdata / CC / f"{TRAFILATURA}.index.jsonl").read_text().splitlines()
    ]
    records, skipped = _read(realdata / CC / f"{TRAFILATURA}.warc.gz")
    assert skipped == Counter({"skipped_record_type:warcinfo": 1})
    assert len(records) == len(index) == 110
    by_url = {r.url: r for r in records}
    latin1 = [row for row in index if (row["declared_charset"] or "").lower() == "iso-8859-1"]
    assert len(latin1) == 4
    for row in latin1 + [row for row in index if row["html_lang"] == "de"]:
        rec = by_url[row["url"]]
        assert "\ufffd" not in rec.title + rec.raw_content, row["url"]
    german = [by_url[row["url"]].raw_content for row in index if row["html_lang"] == "de"]
    assert sum(any(ch in text for ch in "äöüß") for text in german) >= 0.9 * len(german)
    assert sum(bool(r.title) for r in records) >= 100


def test_main_text_matches_common_crawl_wet_without_its_menus(realdata: Path) -> None:
    """The same page from Common Crawl's WARC and WET: most of our lines are lines of CC's WET
    text; CC's WET also holds the navigation we leave out."""
    (ours,), _ = _read(realdata / CC / WHIRLWIND)
    (wet,), _ = _read(realdata / CC / WHIRLWIND_WET)
    assert (
        ours.url == wet.url and ours.title == wet.title and ours.date_download == wet.date_download
    )
    our_lines, wet_lines = ours.raw_content.split("\n"), set(wet.raw_content.split("\n"))
    shared = [line for line in our_lines if line in wet_lines]
    assert len(shared) >= 0.75 * len(our_lines)
    assert len(our_lines) < 0.5 * len(wet_lines)
    for menu in ("Menú principal", "Creyar cuenta", "Ferramientas personals"):
        assert menu in wet_lines and menu not in our_lines
    assert ours.raw_content.startswith("Escopete")
    assert "Escopete ye un municipio d'a provincia de Guadalachara" in ours.raw_content


def test_uncompressed_warc_reads_like_the_gzip_one(realdata: Path, tmp_path: Path) -> None:
    plain = tmp_path / "whirlwind.warc"
    plain.write_bytes(b"".join(serialize(*r) for r in _warc_records(realdata / CC / WHIRLWIND)))
    (ours,), skipped = _read(plain)
    (gzipped,), _ = _read(realdata / CC / WHIRLWIND)
    assert (ours.url, ours.title, ours.raw_content) == (
        gzipped.url,
        gzipped.title,
        gzipped.raw_content,
    )
    assert ours.digest == gzipped.digest and skipped["skipped_record_type:request"] == 1


def test_corrupt_gzip_member_of_a_warc_skipped(realdata: Path, tmp_path: Path) -> None:
    full, _ = _read(realdata / CC / RESILIPARSE)
    data = bytearray((realdata / CC / RESILIPARSE).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(200)  # zeroes inside one record's deflate stream
    corrupt = tmp_path / "corrupt.warc.gz"
    corrupt.write_bytes(bytes(data))
    records, skipped = _read(corrupt)
    assert skipped["corrupt_gzip_member"] >= 1
    assert len(records) == len(full) - 1
    urls = [r.url for r in records]
    assert urls == [r.url for r in full if r.url in set(urls)]


def _response(headers: list[tuple[str, str]], block: bytes, url: str) -> bytes:
    fixed = [(k, url if k == "WARC-Target-URI" else v) for k, v in headers]
    return serialize(fixed, block)


def _with_http(block: bytes, status: str, replace: dict[str, str], drop: tuple[str, ...] = ()):
    """The response block with another status line and some headers replaced or dropped."""
    head, _, body = block.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    kept = [f"HTTP/1.1 {status}"]
    for line in lines[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name not in replace and name not in drop:
            kept.append(line)
    kept += [f"{name}: {value}" for name, value in replace.items()]
    return ("\r\n".join(kept) + "\r\n\r\n").encode("iso-8859-1") + body


def _chunked(data: bytes, size: int = 4000) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in
             range(0, len(data), size)]  # fmt: skip
    return b"".join(parts) + b"0\r\n\r\n"


def test_bad_and_non_html_responses_counted(realdata: Path, tmp_path: Path, wet_builders) -> None:
    recs = _warc_records(realdata / CC / RESILIPARSE)
    responses = [r for r in recs if _type(r[0]) == "response"]
    russian = next(r for r in responses if dict(r[0])["WARC-Target-URI"] == RUSSIAN_URL)
    headers, block = russian
    head, _, html = block.partition(b"\r\n\r\n")
    encoded = _chunked(gzip.compress(html, mtime=0))
    variants = {
        "http://x.test/ok": block,
        "http://x.test/404": _with_http(block, "404 Not Found", {}),
        "http://x.test/png": _with_http(block, "200 OK", {"content-type": "image/png"}),
        # a crawler that stores the bytes as sent: chunked and gzip-encoded
        "http://x.test/encoded": _with_http(
            head + b"\r\n\r\n" + encoded,
            "200 OK",
            {"transfer-encoding": "chunked", "content-encoding": "gzip"},
        ),
        "http://x.test/bad-gzip": _with_http(
            block, "200 OK", {"content-encoding": "gzip"}, drop=("x-crawler-content-encoding",)
        ),
        # the header lies (utf-8): <meta> says windows-1251, which is tried next
        "http://x.test/wrong-header": _with_http(
            block, "200 OK", {"content-type": "text/html; charset=utf-8"}
        ),
        "http://x.test/not-http": b"garbage without headers",
    }
    members = [_response(headers, data, url) for url, data in variants.items()]
    revisit = [(k, "revisit" if k == "WARC-Type" else v) for k, v in headers]
    members.append(wet_builders.serialize(revisit, b""))
    path = wet_builders.write_gzip_members(tmp_path / "edge.warc.gz", members)
    records, skipped = _read(path)
    assert skipped == Counter(
        {
            "skipped_response:http_404": 1,
            "skipped_response:not_html": 1,
            "skipped_record_type:revisit": 1,
            SKIP_CONTENT_ENCODING: 1,
            SKIP_BAD_HTTP: 1,
        }
    )
    by_url = {r.url: r for r in records}
    assert sorted(by_url) == [
        "http://x.test/encoded",
        "http://x.test/ok",
        "http://x.test/wrong-header",
    ]
    for url in ("http://x.test/encoded", "http://x.test/wrong-header"):
        assert by_url[url].raw_content == by_url["http://x.test/ok"].raw_content, url
    # the decoding steps on their own
    response = parse_http_response(block)
    text, codec = decode_html(payload(response), "text/html; charset=utf-8")
    assert codec == "cp1251" and "компании" in text
    assert extract_resiliparse(text)[0].startswith("О компании")


def test_warc_without_html_page_is_a_reported_error(
    realdata: Path, tmp_path: Path, wet_builders
) -> None:
    recs = [r for r in _warc_records(realdata / CC / WHIRLWIND) if _type(r[0]) != "response"]
    path = wet_builders.write_gzip_members(
        tmp_path / "no-pages.warc.gz", [wet_builders.serialize(*r) for r in recs]
    )
    details: list[tuple[str, str]] = []
    assert list(read_wet(str(path), on_skip=lambda *a: details.append(a))) == []
    assert details[-1][0] == SKIP_NO_USABLE_RECORD
    assert str(path) in details[-1][1] and "skipped_record_type:request 1" in details[-1][1]


# ---- end to end: `llamapipe data build` on a folder mixing WET and WARC files


def _config(tmp_path: Path, repo_root: Path, inputs: str) -> Path:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(
        f"""
[run]
dir = "run"
[executor]
kind = "inprocess"
workers = 1
retries = 0
[sources.wikipedia]
inputs = ["{repo_root}/data/wikipedia/*.xml.bz2"]
[sources.commoncrawl]
inputs = ["{inputs}"]
[sources.commoncrawl.lm]
sp_vocab_size = 2000
cutoffs = {{en = [300.0, 1000.0]}}
keep_buckets = ["head", "middle", "tail"]
[sources.commoncrawl.classifier]
enabled = false
""",
        encoding="utf-8",
    )
    return cfg


def _build(cfg: Path, *extra: str) -> subprocess.CompletedProcess:
    args = ["data", "build", "-c", str(cfg), "-s", "wikipedia", "-s", "commoncrawl", *extra]
    return subprocess.run(
        [sys.executable, "-m", "llamapipe", *args],
        capture_output=True,
        text=True,
        cwd=cfg.parent,
        timeout=300,
    )


@pytest.mark.slow
def test_data_build_on_mixed_wet_and_warc_folder(
    realdata: Path, repo_root: Path, tmp_path: Path, wet_builders
) -> None:
    require_kenlm()
    folder = tmp_path / "crawl"
    folder.mkdir()
    for name in (
        f"{TRAFILATURA}.warc.gz",
        RESILIPARSE,
        WHIRLWIND_WET,
        "CC-MAIN-2019-30-sample-00.warc.wet.gz",
    ):
        shutil.copyfile(realdata / CC / name, folder / name)
    no_pages = [r for r in _warc_records(realdata / CC / WHIRLWIND) if _type(r[0]) != "response"]
    bad = wet_builders.write_gzip_members(
        folder / "no-pages.warc.gz", [wet_builders.serialize(*r) for r in no_pages]
    )
    cfg = _config(tmp_path, repo_root, f"{folder}/*")
    result = _build(cfg)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    docs = [d for shard in sorted((run / FINAL_STAGE / "shards").glob("*.parquet"))
            for d in read_documents(shard)]  # fmt: skip
    from_warc = [d for d in docs if TRAFILATURA in d.id]
    from_wet = [d for d in docs if "CC-MAIN-2019-30-sample-00" in d.id]
    assert len(from_warc) >= 15 and len(from_wet) >= 40
    urls = {d.meta["url"] for d in from_warc}
    assert any("en.blog.wordpress.com" in url for url in urls)
    wordpress = next(d for d in from_warc if "en.blog.wordpress.com" in d.meta["url"])
    assert wordpress.meta["title"].startswith("Want to See a More Diverse WordPress")
    assert "The mission of WordPress is to democratize publishing" in wordpress.text
    assert wordpress.meta["digest"].startswith("sha1:")
    # a GB2312 page (declared in its HTTP header) whose main text is English gets through:
    # its full-width punctuation and Chinese title decoded, no U+FFFD anywhere
    (gb2312,) = [d for d in docs if d.meta["url"] == "http://037426.cn/"]
    assert "KUNSHAN STANLEY TRADING" in gb2312.text and "TEL：0512" in gb2312.text
    assert _cjk_share(gb2312.meta["title"]) > 0.5
    assert not [d.id for d in docs if "\ufffd" in d.text + d.meta["title"]]
    stats = json.loads((run / HASHES_STAGE / "stats.json").read_text())
    removed = stats["removed"]
    assert removed["skipped_record_type:request"] == 17 + 1
    assert removed["skipped_record_type:metadata"] == 16 + 1
    assert removed["skipped_record_type:warcinfo"] == 5
    assert removed[SKIP_NO_USABLE_RECORD] == 1
    assert stats["totals"]["errors"] == 1
    assert [e["path"] for e in stats["errors"]] == [str(bad)]
    assert "no usable record" in stats["errors"][0]["error"]
    # --strict: the file with no page stops the build with one line naming it
    strict = _build(cfg, "--strict", "--set", "run.dir=run-strict")
    assert strict.returncode != 0
    assert str(bad) in strict.stderr and "no usable record" in strict.stderr


def test_charset_labels_read_as_browsers_read_them() -> None:
    # iso-8859-1 means windows-1252 on the web: 0x93/0x94 are curly quotes, not C1 controls
    text, codec = decode_html(b"<p>\x93quoted\x94</p>", "text/html; charset=ISO-8859-1")
    assert (text, codec) == ("<p>\u201cquoted\u201d</p>", "cp1252")
    # <meta> Shift_JIS is decoded as windows-31j, which has the circled digits strict lacks
    page = '<meta charset="shift_jis"><p>①番</p>'.encode("cp932")
    assert decode_html(page, "text/html")[0].endswith("<p>①番</p>")
    # a UTF-8 byte-order mark wins over a wrong header and is not kept
    assert decode_html("\ufeff<p>Zürich</p>".encode(), "text/html; charset=cp1251")[0] == (
        "<p>Zürich</p>"
    )
