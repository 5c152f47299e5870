"""Builders of small WET files for bad-input tests, made from real records of the samples."""

from __future__ import annotations

import gzip
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType


def real_conversion_records(path: Path, limit: int) -> list[tuple[list[tuple[str, str]], bytes]]:
    """(headers in file order, payload) of the first `limit` conversion records of `path`."""
    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.conversion, parse_http=False):
            out.append((list(rec.headers.items()), rec.reader.read()))
            if len(out) >= limit:
                break
    return out


def serialize(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One WARC record; Content-Length is recomputed from the payload."""
    lines = ["WARC/1.0"]
    for key, value in headers:
        if key.lower() != "content-length":
            lines.append(f"{key}: {value}")
    lines.append(f"Content-Length: {len(payload)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + payload + b"\r\n\r\n"


def write_gzip_members(path: Path, records: list[bytes]) -> Path:
    """A WET file with one gzip member per record, as Common Crawl writes them."""
    with open(path, "wb") as fh:
        for rec in records:
            fh.write(gzip.compress(rec, mtime=0))
    return path
