"""Opening one remote object at a byte offset: HTTP(S) directly, object stores through fsspec.

A backend only opens; llamapipe.io.stream decides what to retry, checks lengths and digests.
Each `open_at` reports what the store declares about the whole object (its size, its MD5 when
the store gives one), so that a body that ends early is noticed instead of read as complete.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from llamapipe.io.refs import filesystem_for, normalize, scheme_of
from llamapipe.io.retry import TRANSIENT_STATUS, PermanentError, TransientError

_CONTENT_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_HEX_MD5_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Opened:
    """A readable body positioned at the requested offset, and what the store declares."""

    stream: Any
    size: int | None
    md5: str | None = None


def _md5_from_base64(value: str | None) -> str | None:
    if not value:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


class HttpBackend:
    """GET with `Range: bytes=N-` to resume; a server that ignores Range is read from the
    start and the first N bytes are skipped."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.ref = url
        self.timeout_s = timeout_s

    def _request(self, offset: int, method: str = "GET") -> Any:
        headers = {"User-Agent": "llamapipe", "Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(self.ref, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416:
                return None  # offset at or past the end
            if exc.code in TRANSIENT_STATUS:
                raise TransientError(f"HTTP {exc.code} {exc.reason}") from None
            raise PermanentError(
                "not found (HTTP 404)"
                if exc.code in (404, 410)
                else f"HTTP {exc.code} {exc.reason}"
            ) from None

    def open_at(self, offset: int) -> Opened:
        resp = self._request(offset)
        if resp is None:
            return Opened(_Empty(), offset)
        length = resp.headers.get("Content-Length")
        declared = int(length) if length and length.isdigit() else None
        if resp.headers.get("Content-Encoding", "identity") not in ("identity", ""):
            declared = None  # the length is that of the encoded body
        if resp.status == 206:
            match = _CONTENT_RANGE_RE.match(resp.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != offset:
                resp.close()
                raise TransientError(f"bad Content-Range for offset {offset}")
            total = None if match.group(3) == "*" else int(match.group(3))
            return Opened(resp, total)
        md5 = _md5_from_base64(resp.headers.get("Content-MD5"))
        skip = offset
        while skip > 0:  # Range ignored: the body starts at byte 0
            chunk = resp.read(min(skip, 1 << 20))
            if not chunk:
                resp.close()
                raise TransientError(f"body ended at byte {offset - skip} while skipping")
            skip -= len(chunk)
        return Opened(resp, declared, md5)

    def stat(self) -> tuple[int | None, str | None]:
        """(size, md5) from a HEAD request, or (None, None) when the server does not say."""
        try:
            resp = self._request(0, method="HEAD")
        except TransientError:
            return None, None
        if resp is None:
            return None, None
        with resp:
            length = resp.headers.get("Content-Length")
            return (
                int(length) if length and length.isdigit() else None,
                _md5_from_base64(resp.headers.get("Content-MD5")),
            )


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        return None


class FsspecBackend:
    """An object in S3/GCS/HF (any fsspec filesystem): info() for size and digest, then a
    file object seeked to the offset (the filesystem issues ranged GETs)."""

    def __init__(self, ref: str) -> None:
        self.ref = normalize(ref)
        self.scheme = scheme_of(self.ref)
        self.fs, self.path = filesystem_for(self.ref)
        self._info: dict[str, Any] | None = None

    def info(self) -> dict[str, Any]:
        if self._info is None:
            try:
                info = self.fs.info(self.path)
            except FileNotFoundError:
                raise PermanentError("no such object") from None
            except PermissionError as exc:
                raise PermanentError(f"access denied ({exc})") from None
            if info.get("type") == "directory":
                raise PermanentError("is a folder, not an object")
            self._info = info
        return self._info

    def stat(self) -> tuple[int | None, str | None]:
        info = self.info()
        size = info.get("size")
        return (int(size) if size is not None else None), self._md5(info)

    def _md5(self, info: dict[str, Any]) -> str | None:
        """S3: the ETag of a single-part upload is the MD5 of the object (a multipart ETag has
        a `-N` suffix and is not); GCS: `md5Hash` (base64). Other stores: none."""
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"').lower()
        # SSE-KMS/SSE-C objects have ETags that are not MD5s (s3fs does not say which):
        # LLAMAPIPE_IO_S3_ETAG_MD5=0 turns the comparison off for such buckets.
        etag_is_md5 = os.environ.get("LLAMAPIPE_IO_S3_ETAG_MD5", "1") != "0"
        if self.scheme == "s3" and etag_is_md5 and _HEX_MD5_RE.match(etag):
            return etag
        return _md5_from_base64(info.get("md5Hash"))

    def open_at(self, offset: int) -> Opened:
        size, md5 = self.stat()
        try:
            handle = self.fs.open(self.path, "rb", block_size=8 << 20)
        except FileNotFoundError:
            raise PermanentError("no such object") from None
        if offset:
            handle.seek(offset)
        return Opened(handle, size, md5)


def backend_for(ref: str, timeout_s: float) -> HttpBackend | FsspecBackend:
    ref = normalize(ref)
    if scheme_of(ref) in ("http", "https"):
        return HttpBackend(ref, timeout_s)
    return FsspecBackend(ref)
