"""The Wikipedia source: MediaWiki dumps -> article documents and the URLs articles cite.

One shard per dump file (real dumps come split in parts, ``pages-articles1.xml-p1p41242.bz2``
...), so parallelism follows the dump's own split; a ``-multistream`` dump with its
``-multistream-index.txt.bz2`` beside it is further cut at bz2 stream boundaries into shards of
about ``split_bytes`` compressed bytes (a single-file 20 GB enwiki is not one shard).
Each shard writes ``shards/<index>.parquet`` and, for the CommonCrawl reference classifier,
``refs/<index>.jsonl`` with one ``{"lang", "title", "url"}`` line per cited URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.errors import InputError
from llamapipe.filters import Filter, FilterRunner
from llamapipe.filters.text import EmptyText, MinChars
from llamapipe.formats.documents import Document
from llamapipe.formats.inputs import expand_inputs
from llamapipe.formats.mediawiki import (
    MediaWikiDump,
    SiteInfo,
    WikiPage,
    multistream_index_path,
    read_siteinfo,
    read_stream_offsets,
)
from llamapipe.text.wikitext import WikitextCleaner, is_redirect_text

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig

STAGE_NAME = "ingest/wikipedia"
SOURCE = "wikipedia"
_DUMP_SUFFIXES = (".xml", ".xml.bz2", ".xml.gz", ".bz2", ".gz")


@dataclass(frozen=True)
class WikipediaStageConfig(StageConfig):
    """What ``ingest/wikipedia`` reads."""

    split_bytes: int
    languages: tuple[str, ...]
    language_override: str | None
    min_chars: int
    title_in_text: bool
    collect_refs: bool
    write_removed: bool = added_key()


def article_filters(cfg: WikipediaStageConfig) -> list[Filter]:
    """The rules a cleaned article passes, in order (add a rule here: README "Add a filter").
    Namespace and redirect are facts of the dump's page, decided before cleaning."""
    return [EmptyText("empty"), MinChars(cfg.min_chars)]


def list_dump_files(inputs: list[str]) -> list[str]:
    """Expand files, folders (their ``*.xml*``/``*.bz2`` files) and globs; sorted, unique."""
    # A multistream "-index" file is read together with its dump, never as a dump.
    return expand_inputs(
        inputs, in_folders=lambda p: "-index" not in p.name and p.name.endswith(_DUMP_SUFFIXES)
    )


def plan_dump_shards(files: list[str], split_bytes: int) -> list[ShardSpec]:
    """A shard per dump file, or per ~split_bytes slice of an indexed multistream dump."""
    shards: list[ShardSpec] = []
    for path in files:
        index = multistream_index_path(path)
        size = Path(path).stat().st_size if Path(path).exists() else 0
        if index is None or size <= split_bytes:
            shards.append(ShardSpec(index=len(shards), inputs=(path,)))
            continue
        offsets = read_stream_offsets(index)
        if not offsets:
            shards.append(ShardSpec(index=len(shards), inputs=(path,)))
            continue
        bounds = [offsets[0]]
        for offset in offsets[1:]:
            if offset - bounds[-1] >= split_bytes:
                bounds.append(offset)
        bounds.append(size)  # the last slice runs to the end (it drops the closing tag)
        for start, end in zip(bounds, bounds[1:], strict=False):
            shards.append(
                ShardSpec(
                    index=len(shards),
                    inputs=(path, str(index)),
                    params={"byte_range": [start, end]},
                )
            )
    return shards


class UnknownLanguage(InputError):
    """A dump that does not say its language and no override: the stage fails, naming it."""


def article_url(site: SiteInfo, title: str) -> str:
    base = site.article_base
    return base + quote(title.replace(" ", "_"), safe="/:()',!*$@;-_.~") if base else ""


def process_dump(ctx: ShardContext) -> None:
    """Clean every kept article of one dump file into the shard's documents."""
    cfg: WikipediaStageConfig = ctx.config
    languages = set(cfg.languages)
    path = ctx.shard.inputs[0]

    def on_error(record: str | None, message: str) -> None:
        ctx.counters.error(path, record, message)

    dump = _open_dump(ctx, cfg, path, on_error)
    if dump is None:
        return
    refs_file = None
    if cfg.collect_refs:
        refs_file = open(ctx.output(f"refs/{ctx.shard.name}.jsonl"), "w", encoding="utf-8")
    cleaner: WikitextCleaner | None = None
    skipped: str | None = None  # the language of a dump that is not selected
    skipped_pages = 0
    runner = ctx.filter_runner(article_filters(cfg))
    try:
        with ctx.document_writer() as writer:
            for page in dump:
                if skipped is not None:
                    # the whole dump goes: one removal per page, by language
                    runner.reject(
                        _raw_document(page), "languages", f"language_not_selected:{skipped}"
                    )
                    skipped_pages += 1
                    continue
                if cleaner is None:
                    language = dump.siteinfo.language
                    if not language:
                        raise UnknownLanguage(
                            f"{path}: cannot tell the wiki's language (no <siteinfo> dbname, no "
                            "'xxwiki-' prefix in the file name); set "
                            "sources.wikipedia.language_override"
                        )
                    if language not in languages:
                        skipped = language
                        ctx.counters.add("dumps_skipped")
                        runner.reject(
                            _raw_document(page), "languages", f"language_not_selected:{skipped}"
                        )
                        skipped_pages += 1
                        continue
                    cleaner = WikitextCleaner.for_namespaces(dump.siteinfo.namespaces)
                ctx.counters.add("docs_in")
                ctx.counters.add("bytes_in", len(page.text.encode("utf-8")))
                doc = _page_document(ctx, runner, page, dump.siteinfo, cleaner, refs_file)
                if doc is not None:
                    writer.write(doc)
    except UnknownLanguage:
        raise
    except InputError as exc:
        if ctx.strict:  # already a one-line error naming the file (and record)
            raise
        # A broken XML stream cannot be resumed: keep what was read, record the file's error.
        ctx.counters.error(path, None, str(exc).removeprefix(f"{path}: "))
    finally:
        runner.close()
        if refs_file is not None:
            refs_file.close()
        ctx.counters.add("xml_bytes_read", dump.bytes_read)
        if skipped is not None and dump.pages_seen > skipped_pages:
            # pages of a skipped dump the reader could not make (already counted as errors)
            # are removals of that dump too: "language_not_selected:ja" counts every page
            ctx.counters.removed(
                f"language_not_selected:{skipped}", dump.pages_seen - skipped_pages
            )


def _open_dump(
    ctx: ShardContext,
    cfg: WikipediaStageConfig,
    path: str,
    on_error: Callable[[str | None, str], None],
) -> MediaWikiDump | None:
    """The shard's dump reader: the whole file, or its byte range (which needs the file's
    <siteinfo>, read from its head). None when that head is unreadable (counted as an error,
    unless strict)."""
    byte_range = ctx.shard.params.get("byte_range")
    override = cfg.language_override or None
    if not byte_range:
        return MediaWikiDump(path, on_error=on_error, language=override)
    try:
        siteinfo = read_siteinfo(path)
    except InputError as exc:
        if ctx.strict:
            raise
        ctx.counters.error(path, None, str(exc).removeprefix(f"{path}: "))
        return None
    return MediaWikiDump(
        path,
        on_error=on_error,
        byte_range=(byte_range[0], byte_range[1]),
        siteinfo=siteinfo,
        language=override,
    )


def _raw_document(page: WikiPage) -> Document:
    """A page before cleaning (its wikitext), as the removed writer keeps it."""
    meta = {"language": page.language, "title": page.title, "page_id": page.page_id, "ns": page.ns}
    return Document(
        f"{SOURCE}/{page.language or 'unknown'}/{page.page_id}", page.text, SOURCE, meta
    )


def _page_document(
    ctx: ShardContext,
    runner: FilterRunner,
    page: WikiPage,
    site: SiteInfo,
    cleaner: WikitextCleaner,
    refs_file: Any,
) -> Document | None:
    """The cleaned article of one page, None when it is removed or cannot be parsed."""
    if page.ns != 0:
        runner.reject(_raw_document(page), "namespace", "not_article_namespace")
        return None
    if page.redirect or is_redirect_text(page.text):
        runner.reject(_raw_document(page), "redirect", "redirect")
        return None
    try:
        cleaned = cleaner.clean(page.text)
    except Exception as exc:  # a parser bug on one page must not stop the dump
        ctx.counters.error(ctx.shard.inputs[0], f"page {page.page_id}", f"cannot parse: {exc}")
        return None
    cfg: WikipediaStageConfig = ctx.config
    doc = Document(
        id=f"{SOURCE}/{page.language or 'unknown'}/{page.page_id}",
        text=cleaned.text,
        source=SOURCE,
        meta={
            "language": page.language,
            "title": page.title,
            "page_id": page.page_id,
            "url": article_url(site, page.title),
        },
    )
    if not runner.keep(doc):
        return None
    if refs_file is not None:
        for url in cleaned.ref_urls:
            line = {"lang": page.language, "title": page.title, "url": url}
            refs_file.write(json.dumps(line, ensure_ascii=False) + "\n")
        ctx.counters.add("ref_urls", len(cleaned.ref_urls))
    if cfg.title_in_text:
        doc.text = f"{page.title}\n\n{cleaned.text}"
    return doc


def build_stages(cfg: PipelineConfig) -> list[StageSpec]:
    section = cfg.sources.wikipedia
    config = WikipediaStageConfig.from_section(
        section, write_removed=write_removed_for(cfg, "wikipedia")
    )
    inputs = list(section.inputs)

    def plan() -> list[ShardSpec]:
        return plan_dump_shards(list_dump_files(inputs), section.split_bytes)

    return [
        StageSpec(
            name=STAGE_NAME,
            config=config,
            plan=plan,
            process=process_dump,
            description="MediaWiki dumps -> cleaned articles (+ refs/*.jsonl cited URLs)",
        )
    ]
