"""One WARC record -> a `WetRecord` with CCNet's per-document fields, or a counted skip.

Each `WetRecord` is cut into lines exactly as cc_net's WET parser does (see
`payload_lines`): the first line is the title even when empty, the rest (each line stripped,
interior empty lines kept) is `raw_content`, and `length` is the record's Content-Length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from llamapipe.formats.warc_html import SKIP_RECORD_TYPE, SKIP_RESPONSE, response_to_wet

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
#: WARC-Type values that can hold a page's text.
TEXT_RECORD_TYPES = frozenset({"conversion", "response"})


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


_NORMAL_SKIP_PREFIXES = (f"{SKIP_RECORD_TYPE}:", f"{SKIP_RESPONSE}:")


def is_normal_skip(reason: str) -> bool:
    """Whether a skip reason is what crawl files normally hold, to count but not to report as
    an input error: a WET record with no text, a WARC record of another type than a page
    (warcinfo, request, metadata, ...), a redirect or an image response."""
    return reason == SKIP_EMPTY_RECORD or reason.startswith(_NORMAL_SKIP_PREFIXES)


def noop_skip(reason: str, detail: str) -> None:
    """The `on_skip` callback of a caller that does not count skips."""
    return None


def payload_lines(text: str, trailer_included: bool = False) -> list[str]:
    """A record's lines as cc_net's WET parser (`group_by_docs` + `parse_doc`) sees them.

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


def record_from_warc(
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
