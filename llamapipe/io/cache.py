"""An optional local cache of remote inputs, in which only verified copies count.

A copy is written under a temporary name, its length checked against what the store declared
(and its MD5 when the store gives one), fsynced, renamed into place, and only then recorded in
a `<name>.verified.json` sidecar. A cached file without a matching sidecar (a copy cut short,
or one from an older llamapipe) is downloaded again, so `--force` or not, a truncated file is
never reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from urllib.parse import urlparse

from llamapipe.errors import IntegrityError, StorageError
from llamapipe.io.diskfull import disk_full_error, is_disk_full
from llamapipe.io.refs import normalize
from llamapipe.io.retry import RetryPolicy
from llamapipe.io.stream import RemoteReader

SIDECAR_SUFFIX = ".verified.json"


def cache_path(cache_dir: Path, ref: str) -> Path:
    """Where `ref` is cached: `<cache>/<host or bucket>/<path>`."""
    parsed = urlparse(normalize(ref))
    return Path(cache_dir) / (parsed.netloc or "_") / parsed.path.lstrip("/")


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + SIDECAR_SUFFIX)


def is_verified(target: Path) -> bool:
    """The cached file exists and has exactly the size recorded when it was verified."""
    try:
        record = json.loads(_sidecar(target).read_text(encoding="utf-8"))
        return target.stat().st_size == int(record["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def fetch_cached(ref: str, cache_dir: Path, policy: RetryPolicy | None = None) -> Path:
    """A verified local copy of remote `ref` under `cache_dir` (downloaded if needed)."""
    policy = policy or RetryPolicy.from_env()
    target = cache_path(cache_dir, ref)
    if is_verified(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _sidecar(target).unlink(missing_ok=True)
    part = target.with_name(f".{target.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        size, md5 = download_verified(ref, part, policy)
        os.replace(part, target)
        _fsync_dir(target.parent)
        record = {"ref": normalize(ref), "size": size, "md5": md5}
        tmp = _sidecar(target).with_name(f".{target.name}.sidecar-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(record, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, _sidecar(target))
        return target
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(part, exc) from exc
        raise StorageError(f"{ref}: cannot write the cached copy {part}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)


def download_verified(ref: str, dest: Path, policy: RetryPolicy) -> tuple[int, str]:
    """Stream `ref` into `dest` until a copy passes its length and digest checks; returns
    (bytes, md5). A failed check means the whole copy is suspect (digest mismatch, object
    changed), so it is fetched again, up to the policy's retries; a full disk is one line."""
    attempt = 0
    while True:
        try:
            return _download(ref, dest, policy)
        except IntegrityError:
            if attempt >= policy.retries:
                raise
            policy.wait(attempt)
            attempt += 1
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full_error(dest, exc) from exc
            raise


def _download(ref: str, part: Path, policy: RetryPolicy) -> tuple[int, str]:
    """Stream `ref` into `part`; returns (bytes, md5). RemoteReader resumes on failures."""
    hasher = hashlib.md5(usedforsecurity=False)
    written = 0
    reader = RemoteReader(ref, policy)
    with contextlib.closing(reader), open(part, "wb") as out:
        buffer = bytearray(1 << 20)
        while n := reader.readinto(buffer):
            chunk = memoryview(buffer)[:n]
            out.write(chunk)
            hasher.update(chunk)
            written += n
        out.flush()
        os.fsync(out.fileno())
    if reader.size is not None and written != reader.size:
        raise IntegrityError(f"{ref}: got {written} of {reader.size} declared bytes")
    if part.stat().st_size != written:
        raise IntegrityError(f"{part}: {part.stat().st_size} bytes on disk, {written} written")
    return written, hasher.hexdigest()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
