"""WARC `response` records of HTML pages -> the text a WET `conversion` record would hold.

Common Crawl's own WET text keeps menus, cookie banners and footers; modern pipelines (FineWeb,
DCLM) start from the WARC and extract the main content themselves. This module does that for
one record, so that the WET reader (formats/wet/) can hand the result to the very same CCNet
parsing as a WET record: first line the page title, then the main text, one paragraph per line.

Steps, each failure reported through `on_skip(reason, detail)` and the record skipped:

1. HTTP: the status line and headers are parsed here (fastwarc's parser is not used, so that
   plain and gzip WARC files share one path). Only status 200 is text; other statuses, and
   responses that are not `text/html` / `application/xhtml+xml`, are counted by kind.
   Transfer- and Content-Encoding still applied (other crawlers than Common Crawl's store the
   raw bytes; Common Crawl renames them `X-Crawler-...` and stores the decoded payload) are
   undone.
2. Charset, in the order a browser uses (WHATWG): byte-order mark, the HTTP `charset`, the
   `<meta>` charset of the first 1024 bytes, then uchardet's guess. The first candidate that
   decodes the whole payload without error wins. When none does, the first is used with
   replacement characters unless more than 1% of the text would be U+FFFD: then the record is
   undecodable. Labels are mapped as browsers map them (`iso-8859-1` is windows-1252, `gb2312`
   and `gbk` are GB18030, `shift_jis` is windows-31j, `euc-kr` is windows-949).
3. Extraction: resiliparse's `extract_plain_text(main_content=True)`, the extractor DCLM uses;
   bench/bench_warc_extract.py measures it against trafilatura (see the README for the figures
   and the choice). Alt texts, bullets, form fields and noscript content are left out, as in
   WET text. Each line is stripped and its inner runs of white space collapsed; empty lines
   are dropped, so paragraphs come one per line.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

SkipCallback = Callable[[str, str], None]

# Skip reasons (stable names: they become stats.json keys).
#: A record that is not a `response` or a WET `conversion`: `skipped_record_type:<WARC-Type>`.
SKIP_RECORD_TYPE = "skipped_record_type"
#: A response that is not an HTML page: `skipped_response:http_<status>` / `:not_html`.
SKIP_RESPONSE = "skipped_response"
SKIP_BAD_HTTP = "malformed_http_response"
SKIP_CONTENT_ENCODING = "undecodable_content_encoding"
SKIP_UNDECODABLE = "undecodable_html"
SKIP_EXTRACTION = "html_extraction_failed"

#: Media types whose responses are extracted.
HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Above this share of U+FFFD after a lenient decode the page is undecodable (ours).
MAX_REPLACEMENT_SHARE = 0.01

_CHARSET_RE = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HTTP_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SPACE_RE = re.compile(r"[ \t\f\v\u00a0\u200b\ufeff]+")
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
#: WHATWG decodes these labels with a superset (resiliparse maps the rest of the labels).
_SUPERSETS = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}


@dataclass(slots=True)
class HttpResponse:
    """The parts of an HTTP response block that extraction needs."""

    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its first value
    body: bytes


def parse_http_response(block: bytes) -> HttpResponse:
    """Split a WARC response block into status, headers and body; ValueError when it is not
    an HTTP response."""
    end = block.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end, sep = block.find(b"\n\n"), 2
    if end < 0:
        raise ValueError("no end of HTTP headers")
    head = block[:end].decode("iso-8859-1").splitlines()
    status_line = head[0].split() if head else []
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise ValueError(f"no HTTP status line (starts {block[:20]!r})")
    try:
        status = int(status_line[1])
    except ValueError:
        raise ValueError(f"bad HTTP status {status_line[1]!r}") from None
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    return HttpResponse(status, headers, block[end + sep :])


def _dechunk(body: bytes) -> bytes:
    """Undo `Transfer-Encoding: chunked`; ValueError on a malformed chunk size."""
    out, pos = bytearray(), 0
    while pos < len(body):
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            break
        size = int(body[pos:line_end].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += body[line_end + 2 : line_end + 2 + size]
        pos = line_end + 2 + size + 2
    return bytes(out)


def payload(response: HttpResponse) -> bytes:
    """The body with transfer and content encodings undone (ValueError/zlib.error if bad)."""
    body = response.body
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    coding = response.headers.get("content-encoding", "").strip().lower()
    if coding in ("gzip", "x-gzip"):
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    elif coding == "deflate":
        try:
            body = zlib.decompress(body)
        except zlib.error:  # raw deflate without the zlib header, as some servers send
            body = zlib.decompress(body, -zlib.MAX_WBITS)
    elif coding not in ("", "identity"):
        raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return body


def media_type(response: HttpResponse, warc_headers: dict[str, str]) -> str:
    """The response's media type: HTTP Content-Type, else the crawler's identified type."""
    declared = response.headers.get("content-type") or warc_headers.get(
        "warc-identified-payload-type", ""
    )
    return declared.split(";", 1)[0].strip().lower()


def _normalize_label(label: str) -> str | None:
    """A charset label as a browser reads it, as a Python codec name; None when unknown."""
    import codecs

    from resiliparse.parse.encoding import map_encoding_to_html5

    # WHATWG labels (x-sjis, latin1, ...) first; an unknown label comes back as utf-8, as a
    # browser falls back to its default
    mapped = map_encoding_to_html5(label.strip().lower()) or "utf-8"
    mapped = _SUPERSETS.get(mapped, mapped)
    try:
        return codecs.lookup(mapped).name
    except LookupError:
        return None


def charset_candidates(body: bytes, http_content_type: str) -> list[str]:
    """Codec names to try, most authoritative first (BOM, HTTP, meta, detected)."""
    from resiliparse.parse.encoding import detect_encoding

    found: list[str | None] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append(name)
    if match := _HTTP_CHARSET_RE.search(http_content_type):
        found.append(_normalize_label(match.group(1)))
    if match := _CHARSET_RE.search(body[:1024]):
        found.append(_normalize_label(match.group(1).decode("ascii")))
    found.append(_normalize_label(detect_encoding(body)))
    found.append("utf-8")
    out: list[str] = []
    for name in found:
        if name and name not in out:
            out.append(name)
    return out


def decode_html(body: bytes, http_content_type: str = "") -> tuple[str, str] | None:
    """(text, codec) of an HTML payload, or None when it cannot be decoded (see step 2)."""
    candidates = charset_candidates(body, http_content_type)
    for name in candidates:
        try:
            text = body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.lstrip("\ufeff"), name
    text = body.decode(candidates[0], errors="replace")
    if text.count("\ufffd") > MAX_REPLACEMENT_SHARE * max(len(text), 1):
        return None
    return text.lstrip("\ufeff"), candidates[0]


def _clean_lines(text: str) -> list[str]:
    return [line for raw in text.split("\n") if (line := _SPACE_RE.sub(" ", raw).strip())]


def extract_resiliparse(html: str) -> tuple[str, list[str]]:
    """(title, main-text paragraphs) with resiliparse (the default extractor)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    text = extract_plain_text(
        tree,
        main_content=True,
        list_bullets=False,
        alt_texts=False,
        links=False,
        form_fields=False,
        noscript=False,
    )
    return " ".join(_clean_lines(tree.title or "")), _clean_lines(text)


def extract_trafilatura(html: str) -> tuple[str, list[str]]:
    """(title, main-text paragraphs) with trafilatura (measured alternative; not a dependency:
    only the benchmark calls it)."""
    import trafilatura

    document = trafilatura.bare_extraction(html, with_metadata=True, include_tables=True)
    if document is None:
        return "", []
    title = " ".join(_clean_lines(document.title or ""))
    return title, _clean_lines(document.text or "")


def wet_text(title: str, paragraphs: list[str]) -> str:
    """WET layout: the title on the first line, then one paragraph per line."""
    return "\n".join([title, *paragraphs])


def response_to_wet(
    warc_headers: dict[str, str],
    block: bytes,
    where: str,
    on_skip: SkipCallback,
    extract: Callable[[str], tuple[str, list[str]]] = extract_resiliparse,
) -> tuple[dict[str, str], bytes] | None:
    """A WARC response record (lower-case headers, raw block) -> the headers and UTF-8 payload
    of the WET conversion record Common Crawl would have written for it, or None (reported).

    The conversion keeps the response's URL and date; its digest is the response's payload
    digest (the HTML's), else its block digest.
    """
    url = warc_headers.get("warc-target-uri", "").strip()
    try:
        response = parse_http_response(block)
    except ValueError as exc:
        on_skip(SKIP_BAD_HTTP, f"{where} {url}: {exc}")
        return None
    if response.status != 200:
        on_skip(f"{SKIP_RESPONSE}:http_{response.status}", f"{where} {url}")
        return None
    kind = media_type(response, warc_headers)
    if kind not in HTML_MEDIA_TYPES:
        on_skip(f"{SKIP_RESPONSE}:not_html", f"{where} {url}: {kind or 'no Content-Type'}")
        return None
    try:
        body = payload(response)
    except (ValueError, zlib.error) as exc:
        on_skip(SKIP_CONTENT_ENCODING, f"{where} {url}: {exc}")
        return None
    decoded = decode_html(body, response.headers.get("content-type", ""))
    if decoded is None:
        on_skip(SKIP_UNDECODABLE, f"{where} {url}: no charset decodes the page")
        return None
    try:
        title, paragraphs = extract(decoded[0])
    except Exception as exc:  # noqa: BLE001 - a parser failure on one page must not stop a file
        on_skip(SKIP_EXTRACTION, f"{where} {url}: {type(exc).__name__}: {exc}")
        return None
    text = wet_text(title, paragraphs).encode("utf-8")
    digest = warc_headers.get("warc-payload-digest") or warc_headers.get("warc-block-digest", "")
    headers = {
        "warc-type": "conversion",
        "warc-target-uri": url,
        "warc-date": warc_headers.get("warc-date", ""),
        "warc-block-digest": digest,
        "content-length": str(len(text)),
    }
    return headers, text
