"""`open_input(ref)`: any input reference as a binary stream, decompressed on the fly if asked.

Local files open as files. Remote objects open as a RemoteReader (retries, resume, length and
digest checks) behind a 1 MiB buffer. Compression is chosen by the name's extension, so a
`.json.gz` in S3 is decompressed as it streams: nothing is copied to local disk.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path
from typing import IO, Any

from llamapipe.errors import StorageError
from llamapipe.io.refs import check_scheme, normalize, ref_name
from llamapipe.io.retry import RetryPolicy
from llamapipe.io.stream import RemoteReader

BUFFER_BYTES = 1 << 20
DECOMPRESSED_BUFFER_BYTES = 1 << 16
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zstd")


class _Layered(io.RawIOBase):
    """Reads from the top layer, closes every layer (gzip/bz2 files leave their source open)."""

    def __init__(self, top: Any, *below: Any) -> None:
        super().__init__()
        self._top = top
        self._below = below

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # read1: at most one decompression step, so that a stream cut short loses only the
        # last step's data (a reader counts what came before the cut as good).
        view = memoryview(buffer).cast("B")
        read1 = getattr(self._top, "read1", None)
        data = read1(len(view)) if read1 is not None else self._top.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._top.close()
            for layer in self._below:
                layer.close()
        super().close()


def open_raw(ref: str | Path, policy: RetryPolicy | None = None) -> IO[bytes]:
    """The bytes of `ref` as stored (no decompression); seekable, remote or local."""
    ref = normalize(str(ref))
    if check_scheme(ref) is None:
        return open(ref, "rb")
    return io.BufferedReader(RemoteReader(ref, policy), buffer_size=BUFFER_BYTES)


def decompress(stream: IO[bytes], name: str) -> IO[bytes]:
    """Wrap `stream` in the decompressor its file name calls for (or return it unchanged)."""
    lower = name.lower()
    if lower.endswith(".gz"):
        top: Any = gzip.GzipFile(fileobj=stream, mode="rb")
    elif lower.endswith(".bz2"):
        top = bz2.BZ2File(stream, mode="rb")
    elif lower.endswith(".xz"):
        top = lzma.LZMAFile(stream, mode="rb")
    elif lower.endswith((".zst", ".zstd")):
        import zstandard

        top = zstandard.ZstdDecompressor().stream_reader(stream, closefd=False)
    else:
        return stream
    return io.BufferedReader(_Layered(top, stream), buffer_size=DECOMPRESSED_BUFFER_BYTES)


def open_input(
    ref: str | Path, *, decompress_by_name: bool = False, policy: RetryPolicy | None = None
) -> IO[bytes]:
    """Open one input for reading. With `decompress_by_name`, `.gz/.bz2/.xz/.zst` names are
    decompressed as a stream (not seekable then)."""
    stream = open_raw(ref, policy)
    return decompress(stream, ref_name(str(ref))) if decompress_by_name else stream


def size_of(ref: str | Path, policy: RetryPolicy | None = None) -> int:
    """The size in bytes of a local file or remote object (for planning byte-range shards)."""
    ref = normalize(str(ref))
    if check_scheme(ref) is None:
        return Path(ref).stat().st_size
    reader = RemoteReader(ref, policy)
    try:
        if reader.size is None:
            raise StorageError(f"{ref}: the server does not declare a size")
        return reader.size
    finally:
        reader.close()
