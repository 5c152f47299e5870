"""A minimal 7z writer (stored, i.e. "Copy" coder) in the standard library.

Why not py7zr: it stamps the current time into every archive, so the sample would not be byte-for-
byte reproducible. The layout follows the 7z format description (7zFormat.txt): a 32-byte
signature header, the packed stream, then a plain (unencoded) header with one folder per file.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"7z\xbc\xaf\x27\x1c"
FILETIME_2100 = (4102444800 + 11644473600) * 10_000_000  # fixed mtime: 2100-01-01 as FILETIME
FILE_ATTRIBUTE_ARCHIVE = 0x20


def _number(n: int) -> bytes:
    """7z variable-length UINT64: leading 1-bits of the first byte count the extra bytes."""
    for extra in range(9):
        if extra == 8:
            return b"\xff" + n.to_bytes(8, "little")
        if n < (1 << (8 * extra + (7 - extra))):
            mask = (0xFF << (8 - extra)) & 0xFF
            high = n >> (8 * extra)
            return bytes([mask | high]) + (n & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
    raise ValueError(n)


def _property(pid: int, payload: bytes) -> bytes:
    return bytes([pid]) + _number(len(payload)) + payload


def seven_zip(files: list[tuple[str, bytes]]) -> bytes:
    """Archive `files` (name, data) uncompressed; every member gets the same fixed mtime."""
    packed = b"".join(data for _, data in files)
    n = len(files)
    # One solid folder (as 7-Zip writes it) holding every file as a sub-stream.
    pack_info = b"\x06" + _number(0) + _number(1) + b"\x09" + _number(len(packed)) + b"\x00"
    folder = _number(1) + b"\x01\x00"  # one coder; id size 1, simple; id 0x00 = Copy
    unpack_info = b"\x07\x0b" + _number(1) + b"\x00" + folder + b"\x0c" + _number(len(packed)) + b"\x00"
    sub_streams = (b"\x08\x0d" + _number(n)
                   + (b"\x09" + b"".join(_number(len(d)) for _, d in files[:-1]) if n > 1 else b"")
                   + b"\x0a\x01" + b"".join(struct.pack("<I", zlib.crc32(d)) for _, d in files)
                   + b"\x00")
    streams = b"\x04" + pack_info + unpack_info + sub_streams + b"\x00"
    names = b"\x00" + b"".join(name.encode("utf-16-le") + b"\x00\x00" for name, _ in files)
    mtimes = b"\x01\x00" + struct.pack("<Q", FILETIME_2100) * n
    attrs = b"\x01\x00" + struct.pack("<I", FILE_ATTRIBUTE_ARCHIVE) * n
    files_info = (b"\x05" + _number(n) + _property(0x11, names) + _property(0x14, mtimes)
                  + _property(0x15, attrs) + b"\x00")
    header = b"\x01" + streams + files_info + b"\x00"
    tail = struct.pack("<QQI", len(packed), len(header), zlib.crc32(header))
    start = SIGNATURE + b"\x00\x04" + struct.pack("<I", zlib.crc32(tail)) + tail
    return start + packed + header
