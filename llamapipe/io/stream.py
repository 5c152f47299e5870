"""A remote object as a seekable binary stream that survives dropped connections.

Every reader (WET, JSON lines, dumps, tarballs) reads through this, so the rules hold for all:
- a transient failure (reset, timeout, 5xx/429, a body that ends before its declared length)
  reopens the object at the current offset (HTTP Range, or restart and skip) after a backoff;
- a stream that still fails after the retries, or a missing object, raises StorageError (one
  line naming the reference), never a silent end of file;
- when the store declares an MD5 (S3 single-part ETag, GCS md5Hash, HTTP Content-MD5) and the
  object is read start to end, a mismatch raises IntegrityError.
StorageError is not an OSError on purpose: readers that treat OSError as "damaged file, count
and skip" must not mistake a network failure for a corrupt input.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from llamapipe.errors import IntegrityError, StorageError
from llamapipe.io.backends import backend_for
from llamapipe.io.retry import PermanentError, RetryPolicy, TransientError, is_transient


class RemoteReader(io.RawIOBase):
    """Raw, seekable reader of one remote object; wrap it in io.BufferedReader for lines."""

    def __init__(self, ref: str, policy: RetryPolicy | None = None) -> None:
        super().__init__()
        self.policy = policy or RetryPolicy.from_env()
        self.ref = ref
        self.backend = backend_for(ref, self.policy.timeout_s)
        self.size: int | None = None
        self.declared_md5: str | None = None
        self.verified = False  # True once read start to end and the digest (if any) matched
        self.reopens = 0
        self._pos = 0
        self._raw: Any = None
        self._hasher = hashlib.md5(usedforsecurity=False)
        self._hash_pos = 0
        self._retrying(self._connect)  # a missing object fails here, before any read

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> None:
        opened = self.backend.open_at(self._pos)
        if self.size is None:
            self.size = opened.size
        elif opened.size is not None and opened.size != self.size:
            opened.stream.close()
            raise IntegrityError(
                f"{self.ref}: object changed while reading (size {self.size} -> {opened.size})"
            )
        self.declared_md5 = self.declared_md5 or opened.md5
        self._raw = opened.stream

    def _drop(self) -> None:
        if self._raw is not None:
            try:
                self._raw.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass
            self._raw = None

    def _retrying(self, step: Any) -> Any:
        attempt = 0
        while True:
            try:
                return step()
            except (StorageError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                self._drop()
                if isinstance(exc, PermanentError) or not is_transient(exc):
                    raise StorageError(f"{self.ref}: {_describe(exc)}") from exc
                if attempt >= self.policy.retries:
                    raise StorageError(
                        f"{self.ref}: read failed after {attempt + 1} attempts at byte "
                        f"{self._pos}"
                        + (f" of {self.size}" if self.size is not None else "")
                        + f": {_describe(exc)}"
                    ) from exc
                self.policy.wait(attempt)
                attempt += 1
                self.reopens += 1

    # -- io.RawIOBase -------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            if self.size is None:
                raise io.UnsupportedOperation(f"{self.ref}: size unknown, cannot seek from end")
            offset += self.size
        if offset < 0:
            raise ValueError("negative seek position")
        if offset != self._pos:
            self._drop()  # reopened lazily at the new offset
            self._pos = offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.size is not None and self._pos >= self.size:
            self._finish()
            return 0
        data = self._retrying(lambda: self._read_some(len(view)))
        if not data:
            self._finish()
            return 0
        n = len(data)
        view[:n] = data
        start = self._pos
        if start <= self._hash_pos < start + n:
            self._hasher.update(view[self._hash_pos - start : n])
            self._hash_pos = start + n
        self._pos += n
        if self.size is not None and self._pos >= self.size:
            self._finish()
        return n

    def _read_some(self, want: int) -> bytes:
        if self._raw is None:
            self._connect()
        if self.size is not None:
            want = min(want, self.size - self._pos)
        data = self._raw.read(want)
        if not data and self.size is not None and self._pos < self.size:
            raise TransientError(
                f"body ended at byte {self._pos} of a declared {self.size} (truncated)"
            )
        return data

    def _finish(self) -> None:
        """At the end of the object: compare the digest when the whole object was hashed."""
        self._drop()
        if self.verified or self._hash_pos != self._pos:
            return
        if self.declared_md5 is not None:
            actual = self._hasher.hexdigest()
            if actual != self.declared_md5:
                raise IntegrityError(
                    f"{self.ref}: MD5 mismatch (store says {self.declared_md5}, read {actual})"
                )
        self.verified = True

    def close(self) -> None:
        self._drop()
        super().close()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, PermanentError | TransientError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
