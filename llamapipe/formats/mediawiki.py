"""Stream pages out of MediaWiki XML dumps (``*-pages-articles*.xml``, ``.bz2``, ``.gz``).

A full English dump is ~20 GB compressed, so the file is never loaded whole: lxml's iterparse
hands over one ``<page>`` at a time and every finished element is cleared and detached from the
root, which keeps memory bounded by the largest single page, not by the dump.

Tags are matched on their local name, because each MediaWiki version declares its own export
namespace (``export-0.10``, ``export-0.11``, ...). The bytes go to the XML parser undecoded, so
the encoding comes from the XML declaration (or BOM): real dumps are UTF-8, a UTF-16 copy works
as well.
"""

from __future__ import annotations

import bz2
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from lxml import etree

from llamapipe.errors import InputError
from llamapipe.io import as_path, is_remote, open_input, open_raw

#: dbname suffixes of Wikipedia dumps; other projects (wiktionary, wikisource) are not Wikipedia.
_DBNAME_RE = re.compile(r"^([a-z][a-z0-9_]*?)wiki$")
#: The language in a dump file name: ``enwiki-20220601-pages-articles1.xml-p1p41242.bz2``.
_FILENAME_RE = re.compile(r"(?:^|[^a-z0-9_])([a-z][a-z0-9_]*?)wiki-")

ErrorCallback = Callable[[str | None, str], None]


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """The ``<siteinfo>`` header: which wiki this is and its localized namespace names."""

    dbname: str = ""
    language: str = ""
    base_url: str = ""
    namespaces: dict[int, str] = field(default_factory=dict)

    @property
    def article_base(self) -> str:
        """``https://uk.wikipedia.org/wiki/`` (the base URL without its main page title)."""
        if "/wiki/" in self.base_url:
            return self.base_url.split("/wiki/", 1)[0] + "/wiki/"
        if self.language:
            return f"https://{self.language}.wikipedia.org/wiki/"
        return ""


@dataclass(slots=True)
class WikiPage:
    """One page of a dump: its latest revision's wikitext and what decides whether we keep it."""

    page_id: int
    title: str
    ns: int
    redirect: bool
    text: str
    language: str
    redirect_target: str | None = None


def language_from_dbname(dbname: str) -> str:
    """``enwiki`` -> ``en``; ``zh_min_nanwiki`` -> ``zh-min-nan``; anything else -> ``""``."""
    match = _DBNAME_RE.match(dbname.strip())
    return match.group(1).replace("_", "-") if match else ""


def language_from_filename(path: str | Path) -> str:
    """The language of a dump from its file name, the fallback when siteinfo has no dbname.

    A prefix glued on with ``_`` (``mirror_enwiki-...``) is skipped: wiki codes start with a
    2-3 letter segment (``zh_min_nan``) or are ``simple``.
    """
    match = _FILENAME_RE.search(Path(path).name)
    if not match:
        return ""
    segments = match.group(1).split("_")
    while len(segments) > 1 and len(segments[0]) > 3 and segments[0] != "simple":
        segments.pop(0)
    return "-".join(segments)


def open_dump(path: str | Path) -> IO[bytes]:
    """Open a dump (local or remote) as a binary stream, decompressing ``.bz2``/``.gz``/``.xz``
    on the fly."""
    return open_input(path, decompress_by_name=True)


def _local(tag: object) -> str:
    """The local part of ``{namespace}name`` (comments and PIs have non-string tags)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child_text(elem: etree._Element, name: str) -> str | None:
    for child in elem:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def _child(elem: etree._Element, name: str) -> etree._Element | None:
    for child in elem:
        if _local(child.tag) == name:
            return child
    return None


def _parse_siteinfo(elem: etree._Element, path: str | Path) -> SiteInfo:
    dbname = _child_text(elem, "dbname") or ""
    namespaces: dict[int, str] = {}
    ns_elem = _child(elem, "namespaces")
    if ns_elem is not None:
        for ns in ns_elem:
            try:
                namespaces[int(ns.get("key", ""))] = (ns.text or "").strip()
            except ValueError:
                continue
    language = language_from_dbname(dbname) or language_from_filename(path)
    return SiteInfo(
        dbname=dbname,
        language=language,
        base_url=(_child_text(elem, "base") or "").strip(),
        namespaces=namespaces,
    )


def _latest_revision_text(page: etree._Element) -> str:
    """The text of the page's last ``<revision>`` (pages-articles dumps hold exactly one)."""
    text = ""
    for child in page:
        if _local(child.tag) == "revision":
            found = _child_text(child, "text")
            text = found if found is not None else text
    return text


class MediaWikiDump:
    """Iterate the pages of one dump file; ``siteinfo`` is filled once the header is read.

    ``on_error(record, message)`` is called for a page that cannot be read (missing or
    non-numeric id/ns); the page is skipped. A broken XML stream ends the file with an
    InputError naming the file and line, since no parser can resynchronise after it.
    """

    def __init__(
        self,
        path: str | Path,
        on_error: ErrorCallback | None = None,
        byte_range: tuple[int, int] | None = None,
        siteinfo: SiteInfo | None = None,
        language: str | None = None,
    ) -> None:
        """``byte_range`` reads only the bz2 streams in ``[start, end)`` of a multistream dump
        (bounds from its index); such a slice has no header, so pass ``siteinfo`` (from
        ``read_siteinfo``). ``language``, when given, replaces the dump's own (for a dump that
        has no ``<siteinfo>`` and no ``xxwiki-`` file name)."""
        self.path = as_path(path)
        self.on_error = on_error
        self.byte_range = byte_range
        self.language = language or None
        self.siteinfo = self._with_language(
            siteinfo or SiteInfo(language=language_from_filename(self.path))
        )
        self.bytes_read = 0
        self.pages_seen = 0

    def _with_language(self, siteinfo: SiteInfo) -> SiteInfo:
        return replace(siteinfo, language=self.language) if self.language else siteinfo

    def _open(self) -> IO[bytes]:
        if self.byte_range is None:
            return open_dump(self.path)
        return _MultistreamSlice(self.path, *self.byte_range)

    def __iter__(self) -> Iterator[WikiPage]:
        with self._open() as stream:
            counted = _CountingReader(stream)
            parser = etree.iterparse(
                counted, events=("end",), huge_tree=True, resolve_entities=False
            )
            header = False
            try:
                for _event, elem in parser:
                    name = _local(elem.tag)
                    if name == "siteinfo":
                        self.siteinfo = self._with_language(_parse_siteinfo(elem, self.path))
                        header = True
                        _release(elem)
                    elif name == "page":
                        self.pages_seen += 1
                        page = self._make_page(elem)
                        _release(elem)
                        if page is not None:
                            yield page
                if not header and not self.pages_seen and self.byte_range is None:
                    root = _local(parser.root.tag) if parser.root is not None else ""
                    raise InputError(
                        f"{self.path}: not a MediaWiki dump (root element <{root}>, "
                        "no <siteinfo> and no <page>)"
                    )
            except etree.XMLSyntaxError as exc:
                raise InputError(f"{self.path}: broken XML: {exc}") from exc
            except (OSError, EOFError) as exc:
                raise InputError(f"{self.path}: unreadable dump: {exc}") from exc
            finally:
                self.bytes_read = counted.count

    def _make_page(self, elem: etree._Element) -> WikiPage | None:
        title = (_child_text(elem, "title") or "").strip()
        raw_id = _child_text(elem, "id")
        raw_ns = _child_text(elem, "ns")
        try:
            page_id = int((raw_id or "").strip())
            ns = int((raw_ns or "0").strip())
        except ValueError:
            if self.on_error is not None:
                self.on_error(
                    title or None, f"page without a numeric id/ns ({raw_id!r}, {raw_ns!r})"
                )
            return None
        redirect_elem = _child(elem, "redirect")
        return WikiPage(
            page_id=page_id,
            title=title,
            ns=ns,
            redirect=redirect_elem is not None,
            redirect_target=None if redirect_elem is None else redirect_elem.get("title"),
            text=_latest_revision_text(elem),
            language=self.siteinfo.language,
        )


def _release(elem: etree._Element) -> None:
    """Free a finished element and the already-processed siblings the root still references."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


class _CountingReader:
    """A read()-only wrapper that counts the (decompressed) bytes handed to the parser."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class _BoundedReader(io.RawIOBase):
    """The bytes ``[start, end)`` of a file, as a readable stream."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self._file = open_raw(path)
        self._file.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._left)
        if size <= 0:
            return 0
        data = self._file.read(size)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


class _MultistreamSlice:
    """Whole bz2 streams of a multistream dump, decompressed and wrapped in ``<mediawiki>``.

    The streams between two index offsets hold complete ``<page>`` elements and nothing else,
    except that the dump's last stream carries the closing ``</mediawiki>``, which is dropped
    here so the wrapper's own closing tag is the only one.
    """

    _CLOSE = b"</mediawiki>"

    def __init__(self, path: Path, start: int, end: int) -> None:
        self._raw = _BoundedReader(path, start, end)
        self._bz = bz2.BZ2File(self._raw)
        self._pending = b"<mediawiki>"
        self._done = False

    def read(self, size: int = -1) -> bytes:
        want = size if size > 0 else 1 << 20
        while not self._done and len(self._pending) < want + len(self._CLOSE):
            chunk = self._bz.read(1 << 16)
            if not chunk:
                self._done = True
                body = self._pending.rstrip()
                if body.endswith(self._CLOSE):
                    body = body[: -len(self._CLOSE)]
                self._pending = body + self._CLOSE
                break
            self._pending += chunk
        keep = 0 if self._done else len(self._CLOSE)  # hold back a possible closing tag
        cut = max(min(want, len(self._pending) - keep), 0)
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out

    def close(self) -> None:
        self._bz.close()
        self._raw.close()

    def __enter__(self) -> _MultistreamSlice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def multistream_index_path(path: str | Path) -> Path | None:
    """The ``...-multistream-index.txt.bz2`` shipped next to a ``...-multistream.xml.bz2``."""
    if is_remote(str(path)):
        return None  # remote multistream dumps are read as one shard (no index lookup)
    path = Path(path)
    if "multistream" not in path.name or not path.name.endswith(".bz2"):
        return None
    name = path.name.replace("multistream", "multistream-index", 1).replace(".xml", ".txt", 1)
    candidate = path.with_name(name)
    return candidate if candidate.is_file() else None


def read_stream_offsets(index_path: str | Path) -> list[int]:
    """Sorted byte offsets of the page streams, from index lines ``offset:page_id:title``."""
    index_path = Path(index_path)
    opener = bz2.open if index_path.suffix == ".bz2" else open
    offsets: set[int] = set()
    with opener(index_path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            head = line.split(":", 1)[0]
            if not head.strip():
                continue
            try:
                offsets.add(int(head))
            except ValueError as exc:
                raise InputError(f"{index_path} (line {line_no}): not an offset: {head!r}") from exc
    return sorted(offsets)


def read_siteinfo(path: str | Path) -> SiteInfo:
    """The ``<siteinfo>`` of a dump, reading no further than the header."""
    path = as_path(path)
    with open_dump(path) as stream:
        try:
            for _event, elem in etree.iterparse(stream, events=("end",), huge_tree=True):
                name = _local(elem.tag)
                if name == "siteinfo":
                    return _parse_siteinfo(elem, path)
                if name == "page":
                    break
        except etree.XMLSyntaxError as exc:
            raise InputError(f"{path}: broken XML header: {exc}") from exc
    return SiteInfo(language=language_from_filename(path))


def iter_pages(path: str | Path, on_error: ErrorCallback | None = None) -> Iterator[WikiPage]:
    """Convenience: the pages of one dump file."""
    yield from MediaWikiDump(path, on_error=on_error)
