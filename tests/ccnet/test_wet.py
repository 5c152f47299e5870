"""WET reading on every real Common Crawl sample, and bad input counted and skipped."""

from __future__ import annotations

import gzip
import http.server
import threading
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from llamapipe.errors import StorageError
from llamapipe.formats.wet import (
    SKIP_EMPTY_FILE,
    SKIP_NO_URI,
    SKIP_NON_UTF8,
    SKIP_TRUNCATED,
    download,
    expand_inputs,
    payload_lines,
    read_wet,
    segment_name,
)

CC = "commoncrawl"
SHARD0 = "CC-MAIN-2019-30-sample-00.warc.wet.gz"
SHARD1 = "CC-MAIN-2019-30-sample-01.warc.wet.gz"
#: Every WET file starts with one, counted as a skipped record type.
WARCINFO = "skipped_record_type:warcinfo"


def _read(path: Path | str) -> tuple[list, Counter]:
    skipped: Counter = Counter()
    records = list(read_wet(str(path), on_skip=lambda reason, _detail: skipped.update([reason])))
    return records, skipped


def test_2019_shards_fields(realdata: Path) -> None:
    records, skipped = _read(realdata / CC / SHARD0)
    # a warcinfo record, then 175 conversion records, 11 of them with no text at all
    assert len(records) == 164 and skipped == Counter({"empty_record": 11, WARCINFO: 1})
    first = records[0]
    assert first.url == "http://16thfleet.wikidot.com/chatter:anewhome"
    assert first.date_download == "2019-07-17T12:15:59Z"
    assert first.digest == "sha1:NN3YE52DSOKDB2DHRBVS4J5K223BTTPT"
    assert first.source_domain == "16thfleet.wikidot.com"
    assert first.title == "A New Home?"
    assert first.cc_segment == SHARD0
    assert first.length == 3804  # Content-Length of the record
    # cc_net's lines: the empty line after the title is kept as a line, and so is the one the
    # record trailer adds after a payload that does not end with a newline
    lines = first.raw_content.split("\n")
    assert lines[0] == "" and lines[1].startswith("March 03, 2018 - After a great deal of")
    assert lines[-1] == "" and lines[-2].endswith("Attribution-ShareAlike 3.0 License")
    assert first.nlines == len(lines) == 59 and all(line == line.strip() for line in lines)
    assert first.language is None  # 2019 WET files have no language header
    records1, _ = _read(realdata / CC / SHARD1)
    assert len(records1) == 167


def test_modern_wet_header_read_by_name(realdata: Path) -> None:
    records, skipped = _read(realdata / CC / "whirlwind_CC-MAIN-2024-22.warc.wet.gz")
    assert skipped == Counter({WARCINFO: 1}) and len(records) == 1
    rec = records[0]
    # WARC-Identified-Content-Language sits before Content-Type/Content-Length here
    assert rec.url == "https://an.wikipedia.org/wiki/Escopete"
    assert rec.language == "spa"
    assert rec.length == 4456
    assert rec.digest == "sha1:RDTSR52RUHWDA7QK4BK7OUHU3EXTXYUL"
    assert rec.title == "Escopete - Biquipedia, a enciclopedia libre"
    assert rec.to_meta()["cc_identified_language"] == "spa"


def test_cc_net_old_fixture_plain_text(realdata: Path) -> None:
    records, skipped = _read(realdata / CC / "ccnet_tests_sample.warc.txt")
    assert skipped == Counter({WARCINFO: 1})
    assert [r.url for r in records] == [
        "http://sample_english.com",
        "http://sample_chinese.zh",
        "http://sample_russian.ru",
    ]
    assert records[0].title == "Famous Mark Twain Quotes"
    assert records[0].raw_content.split("\n")[0].startswith("Don't part with your illusions.")
    assert records[0].digest == "sha1:XQZHW7QWIG54HVAV3KPRW6MK5ILDNCER"


def test_truncated_gzip_member_counted_and_earlier_records_kept(
    realdata: Path, tmp_path: Path
) -> None:
    full, _ = _read(realdata / CC / SHARD0)
    data = (realdata / CC / SHARD0).read_bytes()
    for fraction in (0.3, 0.77):
        cut = tmp_path / f"cut{fraction}.warc.wet.gz"
        cut.write_bytes(data[: int(len(data) * fraction)])
        records, skipped = _read(cut)
        assert skipped[SKIP_TRUNCATED] == 1
        assert 0 < len(records) < len(full)
        assert [r.url for r in records] == [r.url for r in full[: len(records)]]


def test_missing_uri_non_utf8_and_empty_file(realdata: Path, tmp_path: Path, wet_builders) -> None:
    recs = wet_builders.real_conversion_records(realdata / CC / SHARD1, 4)
    no_uri = [(k, v) for k, v in recs[1][0] if k != "WARC-Target-URI"]
    latin1 = recs[2][1].decode("utf-8").replace("e", "é").encode("latin-1", "replace")
    path = wet_builders.write_gzip_members(
        tmp_path / "bad.warc.wet.gz",
        [
            wet_builders.serialize(*recs[0]),
            wet_builders.serialize(no_uri, recs[1][1]),
            wet_builders.serialize(recs[2][0], latin1),
            wet_builders.serialize(*recs[3]),
        ],
    )
    records, skipped = _read(path)
    assert [r.url for r in records] == [
        dict(recs[0][0])["WARC-Target-URI"],
        dict(recs[3][0])["WARC-Target-URI"],
    ]
    assert skipped == Counter({SKIP_NO_URI: 1, SKIP_NON_UTF8: 1})
    empty = tmp_path / "empty.warc.wet.gz"
    empty.write_bytes(b"")
    assert _read(empty) == ([], Counter({SKIP_EMPTY_FILE: 1}))


def test_expand_inputs_globs_and_paths_lists(realdata: Path, tmp_path: Path) -> None:
    cc = realdata / CC
    assert expand_inputs([str(cc / "CC-MAIN-2019-30-sample-*.warc.wet.gz")]) == [
        str(cc / SHARD0),
        str(cc / SHARD1),
    ]
    listing = tmp_path / "wet.paths.gz"
    with gzip.open(listing, "wt") as fh:
        fh.write(f"{cc / SHARD1}\ncrawl-data/CC-MAIN-2019-30/segments/1/wet/x.warc.wet.gz\n")
    assert expand_inputs([str(listing)]) == [
        str(cc / SHARD1),
        "https://data.commoncrawl.org/crawl-data/CC-MAIN-2019-30/segments/1/wet/x.warc.wet.gz",
    ]
    url = "https://data.commoncrawl.org/crawl-data/CC-MAIN-2019-30/x.warc.wet.gz"
    assert segment_name(url) == "crawl-data/CC-MAIN-2019-30/x.warc.wet.gz"
    with pytest.raises(FileNotFoundError, match="no file"):
        expand_inputs([str(tmp_path / "nothing-*.wet.gz")])


class _FlakyHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, but answers 503 to the first request of each path (CC throttling)."""

    seen: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path not in self.seen:
            self.seen.add(self.path)
            self.send_error(503, "slow down")
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        return None


def test_download_retries_throttling_and_caches(realdata: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / SHARD1).write_bytes((realdata / CC / SHARD1).read_bytes())
    handler = partial(_FlakyHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{SHARD1}"
        cache = tmp_path / "cache"
        local = download(url, cache, retries=3, backoff_s=0.01)
        assert local.read_bytes() == (served / SHARD1).read_bytes()
        (served / SHARD1).unlink()  # a second read must come from the cache
        records = list(read_wet(url, cache_dir=cache))
        assert len(records) == 167
        with pytest.raises(StorageError, match="not found"):
            download(url.replace(SHARD1, "missing.wet.gz"), cache, retries=2, backoff_s=0.01)
    finally:
        server.shutdown()


def test_corrupt_member_skipped_and_reading_resumes(realdata: Path, tmp_path: Path) -> None:
    path = realdata / CC / SHARD1
    full, _ = _read(path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(200)  # zeroes inside one record's deflate stream
    corrupt = tmp_path / "corrupt.warc.wet.gz"
    corrupt.write_bytes(bytes(data))
    records, skipped = _read(corrupt)
    assert skipped["corrupt_gzip_member"] == 1
    assert len(records) == len(full) - 1  # only the damaged record is lost
    urls = [r.url for r in records]
    assert urls == [r.url for r in full if r.url in set(urls)]


def test_gzip_that_is_not_warc_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.warc.wet.gz"
    path.write_bytes(gzip.compress(b"just some text\n" * 20))
    assert _read(path) == ([], Counter({"unreadable_file": 1}))


def test_payload_lines_as_cc_net_reads_a_record() -> None:
    """cc_net's line rules (the parity with cc_net itself is in test_ccnet_parity.py): universal
    newlines, stripped lines, interior empty lines kept, the trailer's empty line kept unless
    the payload ends with a newline (then the last two empty lines go)."""
    assert payload_lines("Title\n\n a \nb") == ["Title", "", "a", "b", ""]
    assert payload_lines("Title\nb\n") == ["Title", "b"]
    assert payload_lines("Title\nb\n\n") == ["Title", "b", ""]
    assert payload_lines("T\r\nx\ry\u2028z") == ["T", "x", "y\u2028z", ""]
    assert payload_lines("") == []
    # the plain-text reader's block already ends with the record trailer
    assert payload_lines("Title\nb\r\n\r\n", trailer_included=True) == ["Title", "b", ""]
    assert payload_lines("", trailer_included=True) == []
