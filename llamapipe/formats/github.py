"""Readers for source code inputs: BigQuery-style exports, local repository trees and tarballs.

Every reader yields ``SourceFile`` records one at a time (memory bounded by one file), in a
deterministic order, so that "keep the first occurrence" dedup means the same thing on every
run. A local tree or tarball has no license column: it is detected from the repository's
LICENSE/COPYING/LICENCE files by recognising the standard license texts.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from llamapipe.io import as_path, is_remote, normalize, open_input, open_raw, ref_name
from llamapipe.text.code_filters import normalize_license

#: Called with (file, record, message) for a record that cannot be read; the caller counts it.
ErrorHandler = Callable[[str, "str | int | None", str], None]

#: Files larger than this are not read into memory (RedPajama's BigQuery export has the same cap
#: in spirit: huge files are data, not code). Counted as ``too_large``.
DEFAULT_MAX_FILE_BYTES = 1 << 20


@dataclass(slots=True)
class SourceFile:
    """One file of one repository. ``content`` is None when it was not text (see ``skip``)."""

    repo: str
    path: str
    license: str | None
    content: str | None
    skip: str | None = None  # "binary" / "too_large": the reader's reason for giving no content
    extra: dict[str, Any] = field(default_factory=dict)


def _raise(path: str, record: str | int | None, message: str) -> None:
    where = path if record is None else f"{path} (record {record})"
    raise ValueError(f"{where}: {message}")


# ---------------------------------------------------------------------------------------------
# License detection from the standard texts
# ---------------------------------------------------------------------------------------------

LICENSE_FILE_NAMES = re.compile(
    r"^(?:license|licence|copying|unlicense)(?:[-_.][\w.-]*)?$", re.IGNORECASE
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def detect_license(text: str) -> str | None:
    """SPDX id of a standard license text, or None when it is not recognised.

    Checks distinctive sentences of each license, most specific first (LGPL and AGPL texts
    mention the GPL; BSD-3 contains every BSD-2 sentence).
    """
    t = _squash(text[:20000])
    if "gnu affero general public license" in t:
        return "AGPL-3.0"
    if "gnu lesser general public license" in t or "gnu library general public license" in t:
        if "version 3" in t[:600]:
            return "LGPL-3.0"
        if "version 2.1" in t[:600]:
            return "LGPL-2.1"
        return "LGPL-2.0"
    if "gnu general public license" in t:
        if "version 3" in t[:600]:
            return "GPL-3.0"
        if "version 2" in t[:600]:
            return "GPL-2.0"
        return "GPL-3.0" if "version 3" in t else "GPL-2.0"
    if "mozilla public license" in t and "2.0" in t:
        return "MPL-2.0"
    apache = "apache license" in t or "www.apache.org/licenses/" in t
    if apache and "version 2.0" in t:
        return "Apache-2.0"
    if "permission is hereby granted, free of charge, to any person obtaining a copy" in t:
        return "MIT"
    if "redistribution and use in source and binary forms" in t:
        if "all advertising materials mentioning features" in t:
            return "BSD-4-Clause"
        if "neither the name" in t or "may be used to endorse or promote" in t:
            return "BSD-3-Clause"
        return "BSD-2-Clause"
    if "permission to use, copy, modify, and/or distribute this software for any purpose" in t:
        if "above copyright notice and this permission notice appear" in t:
            return "ISC"
        return "0BSD"
    if "this is free and unencumbered software released into the public domain" in t:
        return "Unlicense"
    if "eclipse public license" in t:
        return "EPL-2.0" if "v 2.0" in t or "version 2.0" in t else "EPL-1.0"
    return None


def combine_licenses(found: list[str]) -> str | None:
    """One expression for several license files: all of them apply (conservative AND)."""
    unique = sorted(set(found))
    return " AND ".join(unique) if unique else None


# ---------------------------------------------------------------------------------------------
# BigQuery-style rows (JSONL, JSONL.gz, Parquet)
# ---------------------------------------------------------------------------------------------

_REQUIRED_COLUMNS = ("repo_name", "path", "content")


def _row_to_file(row: dict[str, Any]) -> SourceFile:
    content = row.get("content")
    extra = {k: row[k] for k in ("commit", "blob_sha", "size") if row.get(k) is not None}
    skip = None
    if content is None:
        skip = "binary"  # BigQuery's contents table has content NULL for binary blobs
    elif row.get("binary") is True:
        skip, content = "binary", None
    return SourceFile(
        repo=str(row["repo_name"]),
        path=str(row["path"]),
        license=normalize_license(row.get("license")),
        content=content,
        skip=skip,
        extra=extra,
    )


def iter_bigquery_rows(path: str | Path, on_error: ErrorHandler = _raise) -> Iterator[SourceFile]:
    """Stream rows {repo_name, path, license, content} from .jsonl, .jsonl.gz or .parquet."""
    path = normalize(str(path))
    if path.endswith(".parquet"):
        yield from _iter_parquet_rows(path, on_error)
        return
    lineno = 0
    try:
        with open_input(path, decompress_by_name=True) as fh:
            for lineno, raw in enumerate(fh, start=1):
                yield from _parse_row(path, lineno, raw, on_error)
        if lineno == 0:  # a 0-byte file (an interrupted download): an error, not silence
            on_error(path, None, "empty input: no rows")
    except (OSError, EOFError) as exc:  # truncated or corrupt gzip: keep what was read
        on_error(
            path, lineno + 1, f"unreadable ({type(exc).__name__}: {exc}); rest of file skipped"
        )


def _parse_row(path: str, lineno: int, raw: bytes, on_error: ErrorHandler) -> Iterator[SourceFile]:
    """One JSONL row: zero or one SourceFile (an invalid row goes to ``on_error``)."""
    if raw.strip():
        try:
            row = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            on_error(path, lineno, f"invalid JSON: {exc}")
            return
        if not isinstance(row, dict):
            on_error(path, lineno, "a row must be a JSON object")
            return
        missing = [c for c in _REQUIRED_COLUMNS if c not in row]
        if missing:
            on_error(path, lineno, f"missing field(s) {', '.join(missing)}")
            return
        yield _row_to_file(row)


def _iter_parquet_rows(path: str, on_error: ErrorHandler) -> Iterator[SourceFile]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(open_raw(path) if is_remote(path) else path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        on_error(path, None, f"not a readable Parquet file: {exc}")
        return
    names = set(pf.schema_arrow.names)
    missing = [c for c in _REQUIRED_COLUMNS if c not in names]
    if missing:
        on_error(path, None, f"missing column(s) {', '.join(missing)}")
        return
    wanted = (*_REQUIRED_COLUMNS, "license", "commit", "blob_sha", "size", "binary")
    columns = [c for c in wanted if c in names]
    row_number = 0
    for batch in pf.iter_batches(batch_size=256, columns=columns):
        for row in batch.to_pylist():
            row_number += 1
            if row.get("repo_name") is None or row.get("path") is None:
                on_error(path, row_number, "repo_name or path is null")
                continue
            yield _row_to_file(row)


# ---------------------------------------------------------------------------------------------
# Local repository trees and tarballs
# ---------------------------------------------------------------------------------------------


def _decode(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def iter_repository_tree(
    root: str | Path,
    repo: str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    on_error: ErrorHandler = _raise,
) -> Iterator[SourceFile]:
    """Walk a checked-out repository (``.git`` skipped) in sorted order.

    The license comes from the LICENSE/COPYING files at the repository root. Symbolic links are
    not followed (a link could point outside the tree).
    """
    root = Path(root)
    repo = repo or root.name
    licenses = []
    for entry in sorted(root.iterdir()):
        if entry.is_file() and not entry.is_symlink() and LICENSE_FILE_NAMES.match(entry.name):
            spdx = detect_license(entry.read_text("utf-8", errors="replace"))
            if spdx:
                licenses.append(spdx)
    license_expr = combine_licenses(licenses)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink() or not full.is_file():
                continue
            try:
                size = full.stat().st_size
                if size > max_file_bytes:
                    yield SourceFile(repo, rel, license_expr, None, skip="too_large")
                    continue
                data = full.read_bytes()
            except OSError as exc:
                on_error(str(full), None, f"cannot read: {exc}")
                continue
            text = _decode(data)
            yield SourceFile(repo, rel, license_expr, text, skip=None if text else "binary")


def _tar_root(names: list[str]) -> str:
    """The single top-level folder of a tarball (GitHub's ``repo-<sha>/``), or '' if none."""
    tops = {PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts}
    return f"{tops.pop()}/" if len(tops) == 1 and any("/" in n for n in names) else ""


def _safe_member_name(name: str) -> str | None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts:
        return None
    return p.as_posix().removeprefix("./")


def iter_repository_tarball(
    path: str | Path,
    repo: str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    on_error: ErrorHandler = _raise,
) -> Iterator[SourceFile]:
    """Stream a repository tarball (.tar, .tar.gz, .tgz, .tar.zst not needed by GitHub).

    Two sequential passes: the first finds the root folder and the license files (which can
    come after the sources in the archive), the second yields files in archive order. Nothing
    is extracted to disk; members with absolute or ``..`` paths and links are skipped.
    """
    path = normalize(str(path))
    repo = repo or re.sub(r"\.(tar\.gz|tgz|tar\.bz2|tar\.xz|tar)$", "", ref_name(path))
    names: list[str] = []
    license_texts: dict[str, str] = {}
    try:
        with open_raw(path) as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
            for member in tar:
                name = _safe_member_name(member.name)
                if name is None or not member.isfile():
                    continue
                names.append(name)
                if LICENSE_FILE_NAMES.match(PurePosixPath(name).name) and member.size < 1 << 18:
                    fh = tar.extractfile(member)
                    if fh is not None:
                        license_texts[name] = fh.read().decode("utf-8", errors="replace")
    except (tarfile.TarError, OSError, EOFError) as exc:
        on_error(path, None, f"unreadable tarball: {exc}")
        return
    root = _tar_root(names)
    found = [
        spdx
        for name, text in sorted(license_texts.items())
        if name.removeprefix(root).count("/") == 0 and (spdx := detect_license(text))
    ]
    license_expr = combine_licenses(found)
    try:
        with open_raw(path) as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
            for member in tar:
                name = _safe_member_name(member.name)
                if name is None:
                    on_error(path, member.name, "unsafe member path (absolute or '..'), skipped")
                    continue
                if not member.isfile():
                    continue
                rel = name.removeprefix(root)
                if member.size > max_file_bytes:
                    yield SourceFile(repo, rel, license_expr, None, skip="too_large")
                    continue
                fh = tar.extractfile(member)
                data = fh.read() if fh is not None else b""
                text = _decode(data)
                yield SourceFile(repo, rel, license_expr, text, skip=None if text else "binary")
    except (tarfile.TarError, OSError, EOFError) as exc:
        on_error(path, None, f"tarball truncated or corrupt: {exc}")


def iter_source_files(
    path: str | Path,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    on_error: ErrorHandler = _raise,
) -> Iterator[SourceFile]:
    """Dispatch one input by its kind: directory, tarball, or BigQuery-style rows."""
    p = as_path(path)
    name = ref_name(str(path)).lower()
    if isinstance(p, Path) and p.is_dir():
        yield from iter_repository_tree(p, max_file_bytes=max_file_bytes, on_error=on_error)
    elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        yield from iter_repository_tarball(p, max_file_bytes=max_file_bytes, on_error=on_error)
    elif name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet")):
        yield from iter_bigquery_rows(p, on_error=on_error)
    elif is_remote(str(path)):
        on_error(
            str(p),
            None,
            "a remote input must be a tarball, .jsonl[.gz] or .parquet object (remote folders "
            "are not read as repository checkouts)",
        )
    else:
        on_error(
            str(p),
            None,
            "unknown GitHub input kind (want a directory, tarball, .jsonl[.gz] or .parquet)",
        )


__all__ = [
    "SourceFile",
    "detect_license",
    "combine_licenses",
    "iter_bigquery_rows",
    "iter_repository_tree",
    "iter_repository_tarball",
    "iter_source_files",
]
