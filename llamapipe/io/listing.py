"""Input lists of pipeline.toml -> the files a source reads, in a stable order, for any store.

Shard i reads input i, and "first occurrence wins" in dedup depends on input order, so globs
are sorted and every file appears once, in the order the config names it. Remote globs and
folders (S3/GCS/HF prefixes) are listed through fsspec; an HTTP URL is taken as one file.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from llamapipe.errors import StorageError
from llamapipe.io.backends import FsspecBackend
from llamapipe.io.refs import OBJECT_STORES, check_scheme, filesystem_for, join_remote, normalize
from llamapipe.io.retry import PermanentError

#: in_folders(p) sees a Path for local files and a PurePosixPath for remote ones (use p.name).
FolderFilter = Callable[[PurePosixPath], bool]


def expand_globs(refs: list[str]) -> Iterator[str]:
    """Each ref as is, or its sorted matches when it is a glob (`**` recurses)."""
    for ref in refs:
        ref = normalize(ref)
        if check_scheme(ref) in OBJECT_STORES:
            yield from _remote_glob(ref) if glob.has_magic(ref.split("://", 1)[1]) else [ref]
        else:
            yield from (sorted(glob.glob(ref, recursive=True)) if glob.has_magic(ref) else [ref])


def _remote_glob(ref: str) -> list[str]:
    fs, path = filesystem_for(ref)
    scheme = ref.split("://", 1)[0]
    try:
        matches = sorted(fs.glob(path))
    except FileNotFoundError:
        matches = []
    if not matches:
        raise StorageError(f"{ref}: no object matches")
    return [join_remote(scheme, m) for m in matches if not fs.isdir(m)]


def expand_inputs(refs: list[str], *, in_folders: FolderFilter | None = None) -> list[str]:
    """Globs expanded; a folder is itself an input (a repository, say) unless `in_folders` is
    given, then it contributes its files (recursively, sorted) for which `in_folders` is true.
    A remote object that does not exist is a StorageError here, before any shard runs."""
    found: dict[str, None] = {}
    for match in expand_globs(refs):
        scheme = check_scheme(match)
        if scheme in OBJECT_STORES:
            for ref in _remote_entries(match, in_folders):
                found.setdefault(ref, None)
        elif scheme is not None:  # http(s): one object, checked when read
            found.setdefault(match, None)
        else:
            path = Path(match)
            if in_folders is not None and path.is_dir():
                for child in sorted(path.rglob("*")):
                    if child.is_file() and in_folders(child):
                        found.setdefault(str(child), None)
            else:
                found.setdefault(str(path), None)
    return list(found)


def _remote_entries(ref: str, in_folders: FolderFilter | None) -> list[str]:
    fs, path = filesystem_for(ref)
    scheme = ref.split("://", 1)[0]
    if fs.isdir(path):
        if in_folders is None:
            return [ref]  # a folder input read as a whole (a repository tree)
        return [
            join_remote(scheme, name)
            for name in sorted(fs.find(path))
            if in_folders(PurePosixPath(name))
        ]
    try:
        FsspecBackend(ref).stat()
    except PermanentError as exc:
        raise StorageError(f"{ref}: {exc}") from None
    return [ref]
