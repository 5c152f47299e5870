"""JSON lines, plain or gzip/zstd/bz2 compressed, read record by record with damage counted.

Real dumps arrive truncated (an interrupted download) or with a stray invalid byte; one bad
record must cost that record, and a cut-off gzip stream must cost only what follows the cut.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from llamapipe.io import open_input

#: Called with (record number or None, message) for every skipped record or damaged stream.
ErrorCallback = Callable[[int | None, str], None]


def open_binary(path: str | Path) -> BinaryIO:
    """Open a possibly compressed file (local or remote) by its extension, decompressing as a
    stream (llamapipe.io.open_input)."""
    return open_input(path, decompress_by_name=True)  # type: ignore[return-value]


def iter_json_lines(
    path: str | Path, on_error: ErrorCallback
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each valid JSON object line; report the rest."""
    line_no = 0
    content = False
    try:
        with open_binary(path) as raw:
            for line_no, raw_line in enumerate(raw, start=1):
                if not raw_line.strip():
                    continue
                content = True
                try:
                    text = raw_line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    on_error(line_no, f"invalid UTF-8 at byte {exc.start}")
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    on_error(line_no, f"invalid JSON: {exc.msg}")
                    continue
                if not isinstance(obj, dict):
                    on_error(line_no, "not a JSON object")
                    continue
                yield line_no, obj
        if not content:
            # a 0-byte file (an interrupted download) or only blank lines: say so, never a
            # silently empty shard
            on_error(None, "empty input: no records")
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        on_error(None, f"truncated or corrupt compressed stream after line {line_no}: {exc}")
