"""Common Crawl WET reading: inputs (files, globs, wet.paths lists, URLs) -> CCNet records.

Headers are read BY NAME. cc_net read them by position, which broke when newer dumps inserted
`WARC-Identified-Content-Language` before Content-Type/Content-Length.

Parser choice (measured on the 2019 sample shards here: fastwarc 3x faster than warcio): gzip
WET files go through fastwarc. Uncompressed WET text goes through a small line-based reader,
because hand-written fixtures such as cc_net's own `sample.warc.txt` use LF line ends and
Content-Length values that do not match, which both fastwarc and warcio reject.

WARC files are read too, record by record (a directory may mix WET and WARC files): a
`conversion` record is WET text; an HTML `response` record is first turned into the same text
by formats/warc_html.py (main-content extraction); every other record type is counted by type
(`skipped_record_type:<type>`) and skipped. A file that yields no record at all is reported
(`no_usable_record`), so that a wrong input never ends as a silent zero-document shard.

Each yielded `WetRecord` has CCNet's fields, cut into lines exactly as cc_net's
`process_wet_file` does (see `payload_lines`): the first line is the title even when empty, the
rest (each line stripped, interior empty lines kept) is `raw_content`, and `length` is the
record's Content-Length. Bad input never stops a file: it is reported through the
`on_skip(reason, detail)` callback and skipped.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from llamapipe.formats.warc_html import SKIP_RECORD_TYPE, SKIP_RESPONSE, response_to_wet
from llamapipe.io import RetryPolicy, fetch_cached, is_remote, normalize, open_input, open_raw
from llamapipe.io import expand_inputs as io_expand_inputs

#: Where relative paths of a `wet.paths.gz` list are fetched from.
CC_DATA_ROOT = "https://data.commoncrawl.org/"

SkipCallback = Callable[[str, str], None]

# Skip reasons (stable names: they become stats.json keys).
SKIP_EMPTY_FILE = "empty_file"
SKIP_TRUNCATED = "truncated_record"
SKIP_NO_URI = "missing_target_uri"
SKIP_NON_UTF8 = "non_utf8_payload"
SKIP_EMPTY_RECORD = "empty_record"
SKIP_UNREADABLE = "unreadable_file"
SKIP_CORRUPT = "corrupt_gzip_member"
SKIP_NO_USABLE_RECORD = "no_usable_record"
#: File-level problems already reported on their own (no `no_usable_record` on top).
_FILE_LEVEL = frozenset({SKIP_EMPTY_FILE, SKIP_UNREADABLE})
#: WARC-Type values that can hold a page's text.
TEXT_RECORD_TYPES = frozenset({"conversion", "response"})

_GZIP_MEMBER_MAGIC = b"\x1f\x8b\x08"


@dataclass(slots=True)
class WetRecord:
    """One `conversion` record with CCNet's per-document fields."""

    url: str
    date_download: str
    digest: str
    source_domain: str
    title: str
    raw_content: str
    cc_segment: str
    length: int
    nlines: int
    language: str | None = None  # WARC-Identified-Content-Language (newer dumps only)
    extra: dict[str, str] = field(default_factory=dict)

    def to_meta(self) -> dict:
        meta = {
            "url": self.url,
            "date_download": self.date_download,
            "digest": self.digest,
            "length": self.length,
            "nlines": self.nlines,
            "source_domain": self.source_domain,
            "title": self.title,
            "cc_segment": self.cc_segment,
        }
        if self.language is not None:
            meta["cc_identified_language"] = self.language
        return meta


def is_normal_skip(reason: str) -> bool:
    """Whether a skip reason is what crawl files normally hold, to count but not to report as
    an input error: a WET record with no text, a WARC record of another type than a page
    (warcinfo, request, metadata, ...), a redirect or an image response."""
    return reason == SKIP_EMPTY_RECORD or reason.startswith(_NORMAL_SKIP_PREFIXES)


_NORMAL_SKIP_PREFIXES = (f"{SKIP_RECORD_TYPE}:", f"{SKIP_RESPONSE}:")


def _noop_skip(reason: str, detail: str) -> None:
    return None


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def is_url(spec: str) -> bool:
    """Whether `spec` is remote (any scheme llamapipe.io reads: http(s), s3, gs, hf)."""
    return is_remote(str(spec))


def _paths_list_base(spec: str) -> str:
    """Where relative entries of a remote list resolve: the same bucket for an object store
    (Common Crawl's `s3://commoncrawl/` mirrors data.commoncrawl.org), else CC_DATA_ROOT."""
    scheme, rest = normalize(spec).split("://", 1)
    if scheme in ("http", "https"):
        return CC_DATA_ROOT
    return f"{scheme}://{rest.split('/', 1)[0]}/"


def _read_paths_list(spec: str, cache_dir: Path | None, retries: int) -> list[str]:
    """Lines of a `wet.paths(.gz)` list; relative entries are resolved against CC_DATA_ROOT
    (or against the list's own folder when that folder holds them locally)."""
    policy = RetryPolicy.from_env(retries)
    with open_input(spec, decompress_by_name=True, policy=policy) as raw:
        text = raw.read().decode("utf-8")
    entries = [line.strip() for line in text.splitlines() if line.strip()]
    base_dir = Path(spec).parent if not is_url(spec) else None
    root = _paths_list_base(spec) if is_url(spec) else CC_DATA_ROOT
    resolved = []
    for entry in entries:
        if is_url(entry) or os.path.isabs(entry):
            resolved.append(entry)
        elif base_dir is not None and (base_dir / entry).exists():
            resolved.append(str(base_dir / entry))
        else:
            resolved.append(root + entry.lstrip("/"))
    return resolved


def expand_inputs(
    specs: Iterable[str], cache_dir: Path | None = None, retries: int = 5
) -> list[str]:
    """Expand user inputs into an ordered list of WET files or URLs.

    Accepts local files, globs, `*.paths` / `*.paths.gz` lists (local or remote), http(s)
    URLs and s3/gs/hf objects or globs. Order is kept (and globs sorted) because "first
    occurrence wins" in dedup depends on it.
    """
    out: list[str] = []
    for spec in specs:
        name = spec.rsplit("/", 1)[-1]
        if name.endswith((".paths", ".paths.gz")):
            out.extend(_read_paths_list(spec, cache_dir, retries))
        elif is_url(spec):
            out.extend(io_expand_inputs([spec]))
        elif any(ch in spec for ch in "*?["):
            matches = sorted(glob.glob(spec))
            if not matches:
                raise FileNotFoundError(f"WET input glob matches no file: {spec}")
            out.extend(matches)
        else:
            if not Path(spec).exists():
                raise FileNotFoundError(f"WET input not found: {spec}")
            out.append(spec)
    return out


def segment_name(spec: str) -> str:
    """CCNet's `cc_segment`: the path from `crawl-data/` on when present, else the file name."""
    marker = spec.find("crawl-data/")
    if marker >= 0:
        return spec[marker:]
    return spec.rsplit("/", 1)[-1]


def download(
    url: str,
    cache_dir: Path | None,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
) -> Path:
    """A verified cached copy of `url` (llamapipe.io.cache): retried with backoff, resumed,
    length- and digest-checked, never kept when short.

    Common Crawl throttles bursts (HTTP 503/429), so failures back off 1, 2, 4 ... seconds
    times a random factor, spreading many workers' retries apart.
    """
    default_cache = Path(os.environ.get("TMPDIR", "/tmp")) / "llamapipe-cc"
    policy = RetryPolicy(retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)
    return fetch_cached(url, Path(cache_dir) if cache_dir else default_cache, policy)


def open_wet(source: str | Path, cache_dir: Path | None = None, retries: int = 5) -> IO[bytes]:
    """A seekable binary stream of one WET input: a local file, a verified cached copy when
    `cache_dir` is set, else the remote object streamed (no local copy)."""
    where = str(source)
    if not is_url(where):
        return open(where, "rb")
    if cache_dir is not None:
        return open(download(where, cache_dir, retries), "rb")
    return open_raw(where, RetryPolicy.from_env(retries))


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


def payload_lines(text: str, trailer_included: bool = False) -> list[str]:
    """A record's lines as cc_net's `process_wet_file.group_by_docs` + `parse_doc` see them.

    cc_net reads the WET file as text (Python's universal newlines: `\\r\\n`, `\\r` and `\\n` end
    a line), strips every line and collects the lines after the headers up to the next
    `WARC/1.0` line, so the record trailer (`\\r\\n\\r\\n`) contributes one empty line; when the
    last two lines are empty both are dropped (a payload ending in a newline), otherwise all
    are kept. Interior empty lines stay lines: they count in `line_ids` and `nlines` and they
    are hashed for dedup. `text`: the payload, or with `trailer_included` the payload followed
    by whatever the file held up to the next record (the plain-text reader's blocks).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if trailer_included:
        if not lines[-1]:
            lines.pop()  # a file's last line break does not start a line
    else:
        lines.append("")  # (text + trailer) split the same way: one more, empty, line
    lines = [line.strip() for line in lines]
    if len(lines) >= 2 and not lines[-1] and not lines[-2]:
        del lines[-2:]
    return lines


def _make_record(
    headers: dict[str, str],
    payload: bytes,
    segment: str,
    where: str,
    on_skip: SkipCallback,
    trailer_included: bool = False,
) -> WetRecord | None:
    url = headers.get("warc-target-uri", "").strip()
    if not url:
        on_skip(SKIP_NO_URI, f"{where}: conversion record without WARC-Target-URI")
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        on_skip(SKIP_NON_UTF8, f"{where} {url}: payload is not UTF-8 ({exc.reason} at {exc.start})")
        return None
    lines = payload_lines(text, trailer_included)
    if not any(lines):
        on_skip(SKIP_EMPTY_RECORD, f"{where} {url}: no text")
        return None
    title, body = lines[0], lines[1:]
    declared = headers.get("content-length", "")
    return WetRecord(
        url=url,
        date_download=headers.get("warc-date", "").strip(),
        digest=(headers.get("warc-block-digest") or headers.get("warc-payload-digest", "")).strip(),
        source_domain=urlparse(url).netloc,
        title=title,
        raw_content="\n".join(body),
        cc_segment=segment,
        length=int(declared) if declared.strip().isdigit() else len(payload),
        nlines=len(body),
        language=headers.get("warc-identified-content-language"),
    )


def _record_from_warc(
    headers: dict[str, str],
    payload: bytes,
    segment: str,
    where: str,
    on_skip: SkipCallback,
    trailer_included: bool = False,
) -> WetRecord | None:
    """Dispatch by WARC-Type: WET text as it is, an HTML response through main-content
    extraction first (formats/warc_html.py); any other type is counted by type and skipped.
    `trailer_included`: a conversion payload still ends with its record trailer (the plain-text
    reader's records), see `payload_lines`."""
    kind = headers.get("warc-type", "").strip()
    if kind == "conversion":
        return _make_record(headers, payload, segment, where, on_skip, trailer_included)
    if kind == "response":
        converted = response_to_wet(headers, payload, where, on_skip)
        if converted is None:
            return None
        # extracted text, not a record block: no trailer line to account for
        return _make_record(
            converted[0], converted[1], segment, where, on_skip, trailer_included=True
        )
    on_skip(f"{SKIP_RECORD_TYPE}:{kind or 'missing'}", where)
    return None


def _next_member(stream: io.BufferedIOBase, after: int) -> int | None:
    """Offset of the next gzip member header strictly after `after`, or None at end of file."""
    stream.seek(after + 1)
    base = after + 1
    tail = b""
    while chunk := stream.read(1 << 20):
        window = tail + chunk
        found = window.find(_GZIP_MEMBER_MAGIC)
        if found >= 0:
            return base - len(tail) + found
        tail = window[-(len(_GZIP_MEMBER_MAGIC) - 1) :]
        base += len(chunk)
    return None


def _iter_gzip_wet(
    stream: io.BufferedIOBase, segment: str, where: str, on_skip: SkipCallback
) -> Iterator[WetRecord]:
    """Text records of a gzip WET or WARC file. A corrupt gzip member (bad deflate data) is
    reported and skipped: reading resumes at the next member header, since Common Crawl
    writes one member per record."""
    from fastwarc.warc import ArchiveIterator

    start = 0
    while True:
        stream.seek(start)
        current = start
        try:
            for record in ArchiveIterator(stream, parse_http=False):
                current = record.stream_pos
                rec = _check_gzip_record(record, segment, where, on_skip)
                if rec is not None:
                    yield rec
            return
        except OSError as exc:  # fastwarc: "Gzip decompression error"
            resume = _next_member(stream, max(current, start))
            on_skip(
                SKIP_CORRUPT,
                f"{where}: corrupt gzip member near byte {current} ({exc}); "
                + ("resuming at the next member" if resume else "rest of file skipped"),
            )
            if resume is None:
                return
            start = resume


def _check_gzip_record(
    record: Any, segment: str, where: str, on_skip: SkipCallback
) -> WetRecord | None:
    """A fastwarc record -> WetRecord, or None (reported) when it is truncated or holds no
    text (the payload of a record type that cannot is not even read)."""
    headers = {key.lower(): value for key, value in record.headers.items()}
    if headers.get("warc-type", "").strip() not in TEXT_RECORD_TYPES:
        return _record_from_warc(headers, b"", segment, where, on_skip)
    payload = record.reader.read()
    declared = headers.get("content-length", "").strip()
    # A gzip member cut short ends the stream mid-record: either the headers stop before
    # Content-Length or the payload is shorter than it.
    if not declared.isdigit() or len(payload) < int(declared):
        on_skip(
            SKIP_TRUNCATED,
            f"{where} {headers.get('warc-target-uri', '?')}: record truncated "
            f"({len(payload)} of {declared} bytes; truncated gzip member?)",
        )
        return None
    return _record_from_warc(headers, payload, segment, where, on_skip)


def _iter_plain_wet(
    lines: Iterable[bytes], segment: str, where: str, on_skip: SkipCallback
) -> Iterator[WetRecord]:
    """Lenient reader for uncompressed WET text: a record starts at a `WARC/1.0` line, its
    headers run to the first blank line, its payload to the next `WARC/1.0` line."""
    headers: dict[str, str] = {}
    body: list[bytes] = []
    in_headers = False
    started = False

    def finish() -> WetRecord | None:
        if not started:
            return None
        block = b"".join(body)
        declared = headers.get("content-length", "")
        if headers.get("warc-type") == "response" and declared.isdigit():
            block = block[: int(declared)]  # drop the record separator after the HTTP body
        return _record_from_warc(headers, block, segment, where, on_skip, trailer_included=True)

    for raw in lines:
        if raw.strip() == b"WARC/1.0":  # cc_net's record boundary: the stripped line
            rec = finish()
            if rec is not None:
                yield rec
            headers, body, in_headers, started = {}, [], True, True
            continue
        if in_headers:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                in_headers = False
            elif ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
            continue
        body.append(raw)
    rec = finish()
    if rec is not None:
        yield rec


def read_wet(
    source: str | Path,
    on_skip: SkipCallback | None = None,
    cache_dir: Path | None = None,
    retries: int = 5,
    segment: str | None = None,
) -> Iterator[WetRecord]:
    """Yield the text records of one WET or WARC file or URL (gzip or plain text)."""
    tally = _Tally(on_skip or _noop_skip)
    skip = tally.skip
    where = str(source)
    seg = segment or segment_name(where)
    try:
        fh = open_wet(where, cache_dir, retries)
    except OSError as exc:
        skip(SKIP_UNREADABLE, f"{where}: {exc}")
        return
    with fh:
        head = fh.read(2)
        if not head:
            skip(SKIP_EMPTY_FILE, f"{where}: empty file")
            return
        compressed = head == b"\x1f\x8b"
        fh.seek(0)
        if not _starts_like_warc(fh, compressed):
            skip(SKIP_UNREADABLE, f"{where}: not a WARC/WET file (no 'WARC/' record header)")
            return
        fh.seek(0)
        records = _iter_gzip_wet if compressed else _iter_plain_wet
        for record in records(fh, seg, where, skip):
            tally.yielded += 1
            yield record
    if not tally.yielded and not tally.reasons.keys() & _FILE_LEVEL:
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(tally.reasons.items()))
        skip(
            SKIP_NO_USABLE_RECORD,
            f"{where}: no usable record (no WET text, no HTML page with text); "
            f"skipped: {skipped or 'nothing: the file holds no record'}",
        )


class _Tally:
    """Counts what one file yielded and skipped, passing every skip on."""

    def __init__(self, on_skip: SkipCallback) -> None:
        self.on_skip = on_skip
        self.yielded = 0
        self.reasons: dict[str, int] = {}

    def skip(self, reason: str, detail: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.on_skip(reason, detail)


def _starts_like_warc(fh: io.BufferedIOBase, compressed: bool) -> bool:
    """Whether the (decompressed) file starts with a WARC record header line."""
    try:
        head = gzip.GzipFile(fileobj=fh).read(5) if compressed else fh.read(5)
    except (OSError, EOFError):
        return True  # let the record reader report the damage precisely
    return head == b"WARC/"


def read_wet_many(
    sources: Iterable[str],
    on_skip: SkipCallback | None = None,
    cache_dir: Path | None = None,
    retries: int = 5,
) -> Iterator[WetRecord]:
    """Records of several WET files in order."""
    for source in sources:
        yield from read_wet(source, on_skip=on_skip, cache_dir=cache_dir, retries=retries)
