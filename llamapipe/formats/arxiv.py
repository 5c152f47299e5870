"""Readers for arXiv LaTeX sources, in memory and bounded, never extracting to disk.

arXiv serves a paper's source as a gzip of a tar (several files), a gzip of a single .tex, or
(rarely) a PDF; bulk dumps are plain tars of those per-paper .gz files; users also have plain
directories. Everything is read as a stream: only text members (.tex and friends) are kept in
memory, other members are skipped as they pass by.

Safety, because an archive is untrusted input:
- members are never written to disk, and a member whose path is absolute or climbs above the
  archive's root with ``..`` is rejected (counted as ``unsafe_path``; the root's own ``./``
  entry is not), as are links and device files;
- an empty file is ``empty_file`` and a ``.gz`` that is not gzip data ``not_gzip``: damaged
  inputs, counted as errors, not papers without LaTeX;
- a kept member larger than ``max_member_bytes`` is rejected (``member_too_large``);
- a paper whose decompressed stream exceeds ``max_total_bytes`` is rejected as a whole
  (``too_large``: a decompression bomb or simply a huge submission), and so is one with more
  than ``max_members`` members.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from llamapipe.io import as_path, open_raw, ref_name

#: Members kept in memory: the LaTeX sources. Everything else (figures, .bbl, .sty) is skipped.
TEXT_EXTENSIONS = (".tex", ".ltx", ".latex")
#: Members that are never part of a paper: macOS resource forks and Finder files.
_JUNK = re.compile(r"(?:^|/)(?:\._[^/]*|\.DS_Store|__MACOSX/.*)$")

ErrorHandler = Callable[[str, "str | int | None", str], None]


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one paper may make us decompress and hold."""

    max_member_bytes: int = 16 << 20
    max_total_bytes: int = 512 << 20
    max_members: int = 5000


@dataclass
class Paper:
    """The LaTeX files of one paper, raw bytes by normalized member path."""

    paper_id: str
    origin: str  # the input file, and the member of a bulk tar, it came from
    files: dict[str, bytes] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # every member name, text or not
    skipped: Counter[str] = field(default_factory=Counter)  # member-level rejections by reason


@dataclass
class PaperFailure:
    """A paper that could not be read at all, with the counted reason and a message."""

    paper_id: str
    origin: str
    reason: str
    message: str


class _LimitExceeded(Exception):
    pass


class _BoundedReader(io.RawIOBase):
    """Counts the bytes read through it and raises once more than ``limit`` have passed."""

    def __init__(self, raw: IO[bytes], limit: int, prefix: bytes = b"") -> None:
        self._raw = raw
        self._limit = limit
        self._prefix = prefix
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        if self._prefix:
            chunk, self._prefix = self._prefix[:want], self._prefix[want:]
        else:
            chunk = self._raw.read(want)
        n = len(chunk)
        buffer[:n] = chunk
        self.count += n
        if self.count > self._limit:
            raise _LimitExceeded(f"more than {self._limit} decompressed bytes")
        return n


def paper_id_from_name(name: str) -> str:
    """``arXiv_1911.02782_src.tar.gz`` -> ``arXiv_1911.02782_src``; ``1501/1501.00001.gz`` ->
    ``1501.00001``."""
    base = PurePosixPath(name).name
    return re.sub(r"(\.tar)?\.(gz|tgz|bz2|xz)$|\.(tar|tex|ltx)$", "", base) or base


def safe_member_path(name: str) -> str | None:
    """The member's normalized relative path, or None when it could escape a destination.

    Only real traversal is unsafe: an absolute path or a ``..`` that climbs above the archive's
    root. The root's own entry (``./``, which ``tar -C dir .`` writes first) is ``""``, and
    ``figs/../main.tex`` is ``main.tex``.
    """
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return None
    parts: list[str] = []
    for part in name.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def _read_up_to(stream: IO[bytes], n: int) -> bytes:
    """Read n bytes (fewer only at EOF): raw and gzip streams may return short reads."""
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _is_tar_header(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _read_tar_stream(
    stream: IO[bytes], paper: Paper, limits: ArchiveLimits
) -> Iterator[tuple[str, tarfile.TarFile, tarfile.TarInfo]]:
    """Yield (safe name, tar, member) of the stream's regular files; record rejects in paper."""
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        count = 0
        for member in tar:
            count += 1
            if count > limits.max_members:
                raise _LimitExceeded(f"more than {limits.max_members} members")
            name = safe_member_path(member.name)
            if name is None:
                paper.skipped["unsafe_path"] += 1
                continue
            if not name:  # the archive's root directory entry, "./"
                continue
            if member.issym() or member.islnk():
                paper.skipped["link"] += 1
                continue
            if not member.isfile():
                continue
            paper.members.append(name)
            if _JUNK.search(name):
                paper.skipped["junk"] += 1
                continue
            yield name, tar, member


def _collect_text_members(stream: IO[bytes], paper: Paper, limits: ArchiveLimits) -> None:
    for name, tar, member in _read_tar_stream(stream, paper, limits):
        if not name.lower().endswith(TEXT_EXTENSIONS):
            continue
        if member.size > limits.max_member_bytes:
            paper.skipped["member_too_large"] += 1
            continue
        fh = tar.extractfile(member)
        if fh is not None:
            paper.files[name] = fh.read(limits.max_member_bytes + 1)


def read_paper_bytes_stream(
    raw: IO[bytes], paper_id: str, origin: str, limits: ArchiveLimits
) -> Paper | PaperFailure:
    """One paper from a stream holding a .gz (tar or single .tex), a tar, or a bare .tex."""
    paper = Paper(paper_id=paper_id, origin=origin)
    try:
        magic = raw.read(4)
        if not magic:
            return PaperFailure(paper_id, origin, "empty_file", "empty file (0 bytes)")
        gzip_name = origin.lower().endswith((".gz", ".tgz"))
        if gzip_name and magic[:2] != b"\x1f\x8b":
            return PaperFailure(
                paper_id, origin, "not_gzip", f"named .gz but not gzip data (starts {magic!r})"
            )
        if magic[:2] == b"\x1f\x8b":
            inner: IO[bytes] = gzip.GzipFile(fileobj=_BoundedReader(raw, 1 << 62, magic))
        else:
            inner = _BoundedReader(raw, 1 << 62, magic)
        bounded = _BoundedReader(inner, limits.max_total_bytes)
        head = _read_up_to(bounded, 512)
        if head.startswith(b"%PDF"):
            return PaperFailure(paper_id, origin, "pdf_only", "the source is a PDF, not LaTeX")
        stream = io.BufferedReader(_BoundedReader(bounded, 1 << 62, head), 1 << 16)
        if _is_tar_header(head):
            _collect_text_members(stream, paper, limits)
        else:
            data = stream.read(limits.max_member_bytes + 1)
            name = paper_id_from_name(origin.rsplit("::", 1)[-1]) + ".tex"
            paper.members.append(name)
            paper.files[name] = data
    except _LimitExceeded as exc:
        return PaperFailure(paper_id, origin, "too_large", str(exc))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        return PaperFailure(paper_id, origin, "corrupt_archive", f"{type(exc).__name__}: {exc}")
    for name, data in list(paper.files.items()):
        if len(data) > limits.max_member_bytes:
            del paper.files[name]
            paper.skipped["member_too_large"] += 1
    return paper


def _iter_directory(path: Path, limits: ArchiveLimits) -> Iterator[Paper | PaperFailure]:
    entries = sorted(path.iterdir())
    if any(e.is_file() and e.name.lower().endswith(TEXT_EXTENSIONS) for e in entries):
        paper = Paper(paper_id=path.name, origin=str(path))
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs.sort()
            for fname in sorted(files):
                full = Path(root) / fname
                rel = full.relative_to(path).as_posix()
                if full.is_symlink():
                    paper.skipped["link"] += 1
                    continue
                paper.members.append(rel)
                if _JUNK.search(rel):
                    paper.skipped["junk"] += 1
                elif fname.lower().endswith(TEXT_EXTENSIONS):
                    if full.stat().st_size > limits.max_member_bytes:
                        paper.skipped["member_too_large"] += 1
                    else:
                        paper.files[rel] = full.read_bytes()
        yield paper
        return
    for entry in entries:
        if _JUNK.search(entry.name):
            continue
        yield from iter_papers(entry, limits)


def iter_papers(
    path: str | Path, limits: ArchiveLimits | None = None
) -> Iterator[Paper | PaperFailure]:
    """Every paper in one input: a per-paper archive, a bulk tar, a .tex, or a directory."""
    limits = limits or ArchiveLimits()
    path = as_path(path)  # a Path, or the reference string of a remote object
    if isinstance(path, Path) and path.is_dir():
        yield from _iter_directory(path, limits)
        return
    try:
        fh = open_raw(path)
    except OSError as exc:
        yield PaperFailure(
            paper_id_from_name(ref_name(str(path))), str(path), "corrupt_archive", str(exc)
        )
        return
    with fh:
        head = fh.read(512)
        fh.seek(0)
        if not _is_tar_header(head):
            yield read_paper_bytes_stream(
                fh, paper_id_from_name(ref_name(str(path))), str(path), limits
            )
            return
        yield from _iter_plain_tar(fh, path, limits)


def _iter_plain_tar(
    fh: IO[bytes], path: Path | str, limits: ArchiveLimits
) -> Iterator[Paper | PaperFailure]:
    """An uncompressed tar: a bulk dump (members are per-paper .gz) or one paper's files."""
    own = Paper(paper_id=paper_id_from_name(ref_name(str(path))), origin=str(path))
    try:
        with tarfile.open(fileobj=fh, mode="r|") as tar:
            for member in tar:
                name = safe_member_path(member.name)
                if name is None:
                    own.skipped["unsafe_path"] += 1
                    continue
                if not name or not member.isfile() or _JUNK.search(name):
                    continue
                lower = name.lower()
                if lower.endswith((".gz", ".tgz")):
                    inner = tar.extractfile(member)
                    if inner is None:
                        continue
                    origin = f"{path}::{name}"
                    yield read_paper_bytes_stream(inner, paper_id_from_name(name), origin, limits)
                elif lower.endswith(".pdf"):
                    yield PaperFailure(
                        paper_id_from_name(name), f"{path}::{name}", "pdf_only", "PDF-only"
                    )
                else:
                    own.members.append(name)
                    if lower.endswith(TEXT_EXTENSIONS):
                        if member.size > limits.max_member_bytes:
                            own.skipped["member_too_large"] += 1
                            continue
                        inner = tar.extractfile(member)
                        if inner is not None:
                            own.files[name] = inner.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield PaperFailure(own.paper_id, str(path), "corrupt_archive", f"{exc}")
        return
    if own.files or own.skipped:
        yield own


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_tex(data: bytes) -> str | None:
    """UTF-8 (BOM stripped), else Latin-1 for the old 8-bit sources; None for binary junk.

    Latin-1 decodes any byte string, and control bytes are valid UTF-8, so either decoding is
    accepted only when the text has (almost) no control characters: a binary blob named .tex
    "does not decode" rather than becoming mojibake.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:65536]
    if len(_CONTROL.findall(sample)) > 0.001 * len(sample) + 1:
        return None
    return text
