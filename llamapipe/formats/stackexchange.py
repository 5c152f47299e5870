"""StackExchange data dumps: ``Posts.xml`` from a file, a site folder or a ``<site>.7z`` archive.

The official dump (archive.org ``stackexchange``) ships one ``<site>.7z`` per site holding
``Posts.xml``, ``Users.xml``, ...; Stack Overflow is split into ``stackoverflow.com-Posts.7z``.
Every post is one ``<row .../>`` with attributes. Two schemas are in circulation: the older one
(tags ``<a><b>``, no licence) and the newer one (``ContentLicense``; tags ``|a|b|``); both
parse into the same Post.

Questions and their answers are spread over the file (an answer can be written years after the
question, and nothing guarantees their order), so assembling a thread needs all posts of a site.
``iter_threads`` spills posts into an on-disk SQLite table and reads them back sorted by
(question, numeric score desc, id): memory stays bounded by SQLite's page cache plus the
largest single thread, whatever the site's size; disk use is about the size of Posts.xml.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lxml import etree

from llamapipe.errors import InputError
from llamapipe.io import as_path, is_remote, local_copy, normalize, open_input, open_raw

POSTS_FILE = "Posts.xml"
QUESTION = 1
ANSWER = 2
#: Largest Posts.xml we agree to extract from an archive (Stack Overflow's is ~100 GB).
DEFAULT_MAX_EXTRACT_BYTES = 256 * 1024**3

ErrorCallback = Callable[[str | None, str], None]

_SITE_SUFFIX_RE = re.compile(r"(?:[-_.]?posts)?(?:\.xml)?(?:\.7z)?$", re.IGNORECASE)


@dataclass(slots=True)
class Post:
    """One ``<row>`` of Posts.xml, typed. Scores are ints: sorting them as strings is a bug."""

    id: int
    post_type: int
    score: int
    parent_id: int | None = None
    title: str = ""
    body: str = ""
    tags: list[str] = field(default_factory=list)
    creation_date: str = ""
    content_license: str = ""
    accepted_answer_id: int | None = None


@dataclass(slots=True)
class Thread:
    """A question and its answers, answers sorted by score (highest first), then id."""

    question: Post
    answers: list[Post]


def site_name(path: str | Path) -> str:
    """``coffee.stackexchange.com.7z`` / ``..._Posts.xml`` / ``<site>/Posts.xml`` -> the site."""
    path = Path(path)
    if path.is_dir() or path.name == POSTS_FILE:
        folder = path if path.is_dir() else path.parent
        return folder.name
    name = _SITE_SUFFIX_RE.sub("", path.name)
    return name or path.stem


def parse_tags(raw: str | None) -> list[str]:
    """Both tag formats: ``<python><regex>`` (old dumps) and ``|python|regex|`` (new dumps)."""
    if not raw:
        return []
    if raw.startswith("<"):
        return [t for t in raw.strip("<>").split("><") if t]
    return [t for t in raw.strip("|").split("|") if t]


def _int_or_none(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def iter_posts(xml_path: str | Path, on_error: ErrorCallback | None = None) -> Iterator[Post]:
    """Stream the rows of one Posts.xml, local or remote (any order, any size; rows are
    cleared as they go)."""
    xml_path = as_path(xml_path)
    with open_input(xml_path) as stream:
        yield from _iter_post_rows(xml_path, stream, on_error)


def _iter_post_rows(
    xml_path: Path | str, stream: IO[bytes], on_error: ErrorCallback | None
) -> Iterator[Post]:
    context = etree.iterparse(
        stream, events=("end",), tag="row", huge_tree=True, resolve_entities=False
    )
    try:
        for _event, row in context:
            attrs = row.attrib
            try:
                post = Post(
                    id=int(attrs["Id"]),
                    post_type=int(attrs.get("PostTypeId", "0")),
                    score=int(attrs.get("Score") or 0),
                    parent_id=_int_or_none(attrs.get("ParentId")),
                    title=attrs.get("Title", ""),
                    body=attrs.get("Body", ""),
                    tags=parse_tags(attrs.get("Tags")),
                    creation_date=attrs.get("CreationDate", ""),
                    content_license=attrs.get("ContentLicense", ""),
                    accepted_answer_id=_int_or_none(attrs.get("AcceptedAnswerId")),
                )
            except KeyError as exc:
                if on_error is not None:
                    on_error(f"row Id={attrs.get('Id')!r}", f"post row without attribute {exc}")
                post = None
            except ValueError as exc:
                if on_error is not None:
                    on_error(f"row Id={attrs.get('Id')!r}", f"bad number in post row: {exc}")
                post = None
            row.clear()
            parent = row.getparent()
            if parent is not None:
                while row.getprevious() is not None:
                    del parent[0]
            if post is not None:
                yield post
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{xml_path}: broken XML: {exc}") from exc


def count_rows(xml_path: str | Path, chunk_bytes: int = 1 << 22) -> int:
    """Number of posts (``<row`` elements), by a byte scan: ~GB/s, no XML parsing."""
    count = 0
    carry = b""
    with open_input(xml_path) as handle:
        while chunk := handle.read(chunk_bytes):
            data = carry + chunk
            count += data.count(b"<row ")
            carry = data[-4:]  # a marker split across chunks is counted in the next one
    return count


def _find_posts_member(names: Iterable[str]) -> str | None:
    for name in names:
        if name == POSTS_FILE or name.endswith("/" + POSTS_FILE):
            return name
    return None


def archive_posts_size(archive: str | Path) -> int:
    """Uncompressed size of Posts.xml in a .7z, read from the archive header (no extraction)."""
    import py7zr

    try:
        # A remote archive is read in place: only its header is fetched (ranged reads).
        with open_raw(archive) as raw, py7zr.SevenZipFile(raw, mode="r") as zf:
            for info in zf.list():
                if _find_posts_member([info.filename]) is not None:
                    return int(info.uncompressed)
    except (py7zr.exceptions.Bad7zFile, py7zr.exceptions.ArchiveError, EOFError) as exc:
        raise InputError(f"{archive}: unreadable 7z archive: {exc}") from exc
    raise InputError(f"{archive}: no {POSTS_FILE} in the archive")


def find_posts_file(path: str | Path) -> Path | str:
    """The Posts.xml of a plain input: the file itself, or ``<dir>/Posts.xml`` (a remote
    input is an object, returned as its reference)."""
    if is_remote(str(path)):
        return normalize(str(path))
    path = Path(path)
    if path.is_dir():
        candidate = path / POSTS_FILE
        if not candidate.is_file():
            raise InputError(f"{path}: folder has no {POSTS_FILE}")
        return candidate
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


@contextlib.contextmanager
def open_posts(
    path: str | Path,
    work_dir: str | Path | None = None,
    max_extract_bytes: int = DEFAULT_MAX_EXTRACT_BYTES,
) -> Iterator[Path]:
    """Yield a readable Posts.xml path for a file, a folder, or a ``.7z`` archive.

    An archive's Posts.xml is extracted (only that member) into a temporary folder under
    ``work_dir`` that is removed afterwards. The member's declared size is checked against
    ``max_extract_bytes`` and the free disk space first, so a decompression bomb or a full
    disk is a clear error instead of a crash halfway. A remote archive is first copied
    (verified) into ``work_dir`` and the copy deleted afterwards: 7z needs to seek freely.
    """
    if not str(path).lower().endswith(".7z"):
        yield find_posts_file(path)
        return
    if is_remote(str(path)):
        if work_dir is None:
            raise InputError(f"{path}: a remote .7z needs a work folder to be copied into")
        with local_copy(path, work_dir) as copy:
            with open_posts(copy, work_dir, max_extract_bytes) as extracted:
                yield extracted
        return
    path = Path(path)
    import py7zr

    tmp = Path(tempfile.mkdtemp(prefix="llamapipe-se-", dir=work_dir))
    try:
        try:
            with py7zr.SevenZipFile(path, mode="r") as zf:
                infos = {info.filename: info for info in zf.list()}
                member = _find_posts_member(infos)
                if member is None:
                    raise InputError(f"{path}: no {POSTS_FILE} in the archive")
                size = int(infos[member].uncompressed)
                if size > max_extract_bytes:
                    raise InputError(
                        f"{path}: {member} is {size} bytes, over the extraction bound "
                        f"{max_extract_bytes}"
                    )
                free = shutil.disk_usage(tmp).free
                if size > free:
                    raise InputError(f"{path}: {member} needs {size} bytes, {free} free in {tmp}")
                zf.extract(path=tmp, targets=[member])
        except (py7zr.exceptions.Bad7zFile, py7zr.exceptions.ArchiveError, EOFError) as exc:
            raise InputError(f"{path}: unreadable 7z archive: {exc}") from exc
        extracted = tmp / member
        if not extracted.is_file() or extracted.stat().st_size != size:
            raise InputError(f"{path}: {member} did not extract completely")
        yield extracted
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_SCHEMA = """
CREATE TABLE posts (
    qid INTEGER NOT NULL, kind INTEGER NOT NULL, score INTEGER NOT NULL, id INTEGER NOT NULL,
    parent_id INTEGER, title TEXT, body TEXT, tags TEXT, created TEXT, license TEXT,
    accepted INTEGER
)
"""


def iter_threads(
    posts: Iterable[Post],
    work_dir: str | Path | None = None,
    on_orphan: Callable[[Post], None] | None = None,
) -> Iterator[Thread]:
    """Group questions with their answers, whatever the order of ``posts``.

    Posts other than questions and answers (tag wikis, moderator nominations) are ignored.
    Threads come out by question id; answers by numeric score, highest first, ties by id.
    An answer whose question is absent goes to ``on_orphan``.
    """
    tmp = Path(tempfile.mkdtemp(prefix="llamapipe-threads-", dir=work_dir))
    db = sqlite3.connect(tmp / "posts.sqlite")
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA temp_store=FILE")
        with contextlib.suppress(sqlite3.DatabaseError):
            # Sort spill files next to the table (work_dir), not in the system temp folder.
            # Deprecated pragma, absent from builds with SQLITE_OMIT_DEPRECATED; then $TMPDIR.
            db.execute(f"PRAGMA temp_store_directory = '{_sql_quote(tmp)}'")
        db.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        db.execute(_SCHEMA)
        batch: list[tuple[object, ...]] = []
        for post in posts:
            if post.post_type == QUESTION:
                qid, kind = post.id, 0
            elif post.post_type == ANSWER and post.parent_id is not None:
                qid, kind = post.parent_id, 1
            else:
                continue
            batch.append(
                (
                    qid, kind, post.score, post.id, post.parent_id, post.title, post.body,
                    "|".join(post.tags), post.creation_date, post.content_license,
                    post.accepted_answer_id,
                )
            )  # fmt: skip
            if len(batch) >= 2000:
                db.executemany("INSERT INTO posts VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
                batch.clear()
        if batch:
            db.executemany("INSERT INTO posts VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
        db.commit()
        rows = db.execute(
            "SELECT qid, kind, score, id, parent_id, title, body, tags, created, license, "
            "accepted FROM posts ORDER BY qid, kind, score DESC, id"
        )
        yield from _group_rows(rows, on_orphan)
    finally:
        db.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _sql_quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _group_rows(
    rows: Iterable[tuple[object, ...]], on_orphan: Callable[[Post], None] | None
) -> Iterator[Thread]:
    current: Thread | None = None
    current_qid: int | None = None
    for qid, kind, score, pid, parent, title, body, tags, created, lic, accepted in rows:
        post = Post(
            id=int(pid),  # type: ignore[arg-type]
            post_type=QUESTION if kind == 0 else ANSWER,
            score=int(score),  # type: ignore[arg-type]
            parent_id=parent,  # type: ignore[arg-type]
            title=str(title or ""),
            body=str(body or ""),
            tags=[t for t in str(tags or "").split("|") if t],
            creation_date=str(created or ""),
            content_license=str(lic or ""),
            accepted_answer_id=accepted,  # type: ignore[arg-type]
        )
        if qid != current_qid:
            if current is not None:
                yield current
            current, current_qid = None, qid  # type: ignore[assignment]
            if kind == 0:
                current = Thread(question=post, answers=[])
                continue
        if current is None:
            if on_orphan is not None:
                on_orphan(post)
            continue
        if kind == 0:
            continue  # a duplicated question row; the first one wins
        current.answers.append(post)
    if current is not None:
        yield current
