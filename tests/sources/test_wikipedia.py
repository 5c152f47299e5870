"""Wikipedia: dump reader, wikitext cleaning and the ingest stage, on real dumps."""

from __future__ import annotations

import bz2
import json
import re
from pathlib import Path

import pytest

from llamapipe.config import config_from_dict
from llamapipe.engine import run_stage
from llamapipe.formats.documents import read_documents
from llamapipe.formats.mediawiki import (
    MediaWikiDump,
    language_from_dbname,
    language_from_filename,
    multistream_index_path,
    read_siteinfo,
)
from llamapipe.sources.wikipedia import build_stages
from llamapipe.text.wikitext import WikitextCleaner, clean_wikitext, is_redirect_text

EN_DUMP = "gensim_enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml.bz2"
UK_DUMP = "xztextfilter_ukwiki-20230501-pages-articles-multistream.first110pages.xml.bz2"
MARKUP = ("[[", "]]", "{{", "}}", "<ref", "{|", "|}")


@pytest.fixture(scope="module")
def wiki_dir(realdata: Path) -> Path:
    return realdata / "wikipedia"


@pytest.fixture(scope="module")
def stage_run(wiki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both real dumps through the stage once; the tests below read its outputs."""
    run_dir = tmp_path_factory.mktemp("wiki_run")
    cfg = config_from_dict(
        {"run": {"dir": str(run_dir)}, "sources": {"wikipedia": {"inputs": [str(wiki_dir)]}}},
        run_dir,
    )
    (spec,) = build_stages(cfg)
    run_stage(spec, run_dir, executor="inprocess")
    return run_dir / "ingest" / "wikipedia"


def _stage_docs(stage_dir: Path) -> list:
    return [doc for p in sorted(stage_dir.glob("shards/*.parquet")) for doc in read_documents(p)]


def test_reader_streams_pages_with_siteinfo(wiki_dir: Path) -> None:
    dump = MediaWikiDump(wiki_dir / UK_DUMP)
    pages = list(dump)
    assert dump.siteinfo.language == "uk"
    assert dump.siteinfo.namespaces[6] == "Файл"
    assert len(pages) == 110  # SOURCES.md: 110 pages, 107 in ns 0, 7 redirects
    assert sum(p.ns == 0 for p in pages) == 107
    assert sum(p.redirect for p in pages) == 7
    assert all(p.language == "uk" for p in pages)


def test_language_from_names() -> None:
    assert language_from_dbname("enwiki") == "en"
    assert language_from_dbname("zh_min_nanwiki") == "zh-min-nan"
    assert language_from_dbname("enwiktionary") == ""
    assert language_from_filename("dewiki-20220601-pages-articles1.xml-p1p297012.bz2") == "de"
    assert language_from_filename(EN_DUMP) == "en"


def test_utf16_copy_parses_like_utf8(wiki_dir: Path, tmp_path: Path) -> None:
    raw = bz2.decompress((wiki_dir / UK_DUMP).read_bytes()).decode("utf-8")
    assert not raw.startswith("<?xml")  # real dumps have no declaration; add one for UTF-16
    utf16 = tmp_path / "ukwiki-utf16-pages-articles.xml"
    utf16.write_bytes(('<?xml version="1.0" encoding="UTF-16"?>\n' + raw).encode("utf-16"))
    original = [(p.page_id, p.title, p.text) for p in MediaWikiDump(wiki_dir / UK_DUMP)]
    copy = [(p.page_id, p.title, p.text) for p in MediaWikiDump(utf16)]
    assert copy == original
    assert any("Україн" in text for _, _, text in copy)


def test_redirects_detected_in_text_and_localized() -> None:
    assert is_redirect_text("#REDIRECT [[Computer accessibility]]")
    assert is_redirect_text("#redirect[[Foo]]")
    assert is_redirect_text("#WEITERLEITUNG [[Berlin]]")
    assert is_redirect_text("#ПЕРЕНАПРАВЛЕННЯ [[Київ]]")
    assert not is_redirect_text("# a numbered item that mentions [[Berlin]]")
    assert not is_redirect_text("'''Berlin''' is the capital of [[Germany]].")


def test_cleaner_rules_on_constructed_wikitext() -> None:
    wikitext = (
        "{{Infobox person|name=X}}'''Ada''' was a [[mathematician|mathematician]] from "
        "[[London]].<ref>{{cite web |url=https://example.org/ada |archive-url="
        "https://web.archive.org/web/2020/https://example.org/ada |title=Ada}}</ref>"
        "<!-- hidden --> __NOTOC__\n"
        "[[Datei:Ada.jpg|thumb|Portrait of [[Ada]]]] [[Файл:x.png|міні|підпис]]\n"
        "== Work ==\nShe wrote notes.<ref>See http://example.com/notes for more.</ref>\n"
        "{| class=wikitable\n|-\n| cell\n|}\n"
        "== References ==\n<references/>\n[[Category:Mathematicians]] [[de:Ada Lovelace]]"
    )
    cleaned = clean_wikitext(wikitext)
    assert cleaned.text == "Ada was a mathematician from London.\n\nWork\nShe wrote notes."
    assert cleaned.ref_urls == ["https://example.org/ada", "http://example.com/notes"]


def test_siteinfo_namespace_names_are_used() -> None:
    cleaner = WikitextCleaner(extra_file_namespaces=["Slika-xx"])
    assert cleaner.clean("Text [[Slika-xx:a.png|caption]] here.").text == "Text here."


def test_stage_drops_redirects_and_non_articles(stage_run: Path) -> None:
    stats = json.loads((stage_run / "stats.json").read_text())
    # gensim sample: 100 redirects (99 in ns 0, 1 in ns 4); ukwiki sample: 7 redirects.
    assert stats["removed"]["redirect"] == 99 + 7
    assert stats["removed"]["not_article_namespace"] == 1 + 3
    assert stats["totals"]["docs_out"] == 106 + 100
    docs = _stage_docs(stage_run)
    assert len(docs) == 206
    assert {d.meta["language"] for d in docs} == {"en", "uk"}
    assert not any(d.text.lstrip().upper().startswith("#REDIRECT") for d in docs)


def test_stage_output_has_no_markup(stage_run: Path) -> None:
    docs = _stage_docs(stage_run)
    for doc in docs:
        for token in MARKUP:
            assert token not in doc.text, (doc.meta["title"], token)
        assert "__TOC__" not in doc.text and "__NOTOC__" not in doc.text
        assert "Category:" not in doc.text and "Категорія:" not in doc.text


def test_stage_article_content_and_meta(stage_run: Path) -> None:
    docs = {d.meta["title"]: d for d in _stage_docs(stage_run)}
    anarchism = docs["Anarchism"]
    assert anarchism.text.startswith("Anarchism\n\nAnarchism is a political philosophy")
    assert "\n\nHistory\n" in anarchism.text  # headings kept as their own line
    assert anarchism.meta["url"] == "https://en.wikipedia.org/wiki/Anarchism"
    assert anarchism.id == f"wikipedia/en/{anarchism.meta['page_id']}"
    geography = docs["Географія"]
    assert geography.meta["url"].startswith("https://uk.wikipedia.org/wiki/")
    assert "Файл:" not in geography.text


def test_stage_writes_ref_urls(stage_run: Path) -> None:
    lines = [
        json.loads(line)
        for path in sorted(stage_run.glob("refs/*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) > 1000
    assert {line["lang"] for line in lines} == {"en", "uk"}
    assert all(line["url"].startswith(("http://", "https://")) for line in lines)
    assert not any("web.archive.org/web/" in line["url"] for line in lines)
    assert any(line["title"] == "Anarchism" for line in lines)


def test_language_filter_skips_dumps(wiki_dir: Path, tmp_path: Path) -> None:
    cfg = config_from_dict(
        {
            "run": {"dir": str(tmp_path)},
            "sources": {"wikipedia": {"inputs": [str(wiki_dir / UK_DUMP)], "languages": ["en"]}},
        },
        tmp_path,
    )
    (spec,) = build_stages(cfg)
    result = run_stage(spec, tmp_path, executor="inprocess")
    assert result.counters.totals["docs_out"] == 0
    # every page of the skipped dump is counted, under the dump's language
    assert dict(result.counters.removed_by) == {"language_not_selected:uk": 110}
    assert result.counters.totals["dumps_skipped"] == 1


def test_broken_dump_is_counted_not_fatal(wiki_dir: Path, tmp_path: Path) -> None:
    raw = bz2.decompress((wiki_dir / EN_DUMP).read_bytes())
    cut = tmp_path / "enwiki-broken-pages-articles.xml"
    cut.write_bytes(raw[:400_000])  # ends mid-page: a truncated download
    cfg = config_from_dict(
        {"run": {"dir": str(tmp_path)}, "sources": {"wikipedia": {"inputs": [str(cut)]}}},
        tmp_path,
    )
    (spec,) = build_stages(cfg)
    result = run_stage(spec, tmp_path, executor="inprocess")
    assert result.counters.totals["errors"] == 1
    assert "broken XML" in result.counters.errors[0]["error"]
    assert str(cut) == result.counters.errors[0]["path"]
    assert result.counters.totals["docs_out"] >= 3  # pages before the break are kept


def _write_multistream(raw: str, dump: Path, index: Path, pages_per_stream: int) -> int:
    """Re-pack a dump the way Wikimedia does: header stream, page streams, closing stream,
    and an index of ``offset:page_id:title`` lines. Returns the number of page streams."""
    head, _, rest = raw.partition("  <page>")
    body, _, _ = ("  <page>" + rest).rpartition("</mediawiki>")
    pages = ["  <page>" + chunk for chunk in body.split("  <page>")[1:]]
    index_lines: list[str] = []
    with open(dump, "wb") as out:
        out.write(bz2.compress(head.encode("utf-8")))
        streams = 0
        for i in range(0, len(pages), pages_per_stream):
            group = pages[i : i + pages_per_stream]
            offset = out.tell()
            for page in group:
                page_id = re.search(r"<id>(\d+)</id>", page).group(1)  # type: ignore[union-attr]
                title = re.search(r"<title>(.*?)</title>", page).group(1)  # type: ignore[union-attr]
                index_lines.append(f"{offset}:{page_id}:{title}")
            out.write(bz2.compress("".join(group).encode("utf-8")))
            streams += 1
        out.write(bz2.compress(b"</mediawiki>\n"))
    index.write_bytes(bz2.compress(("\n".join(index_lines) + "\n").encode("utf-8")))
    return streams


def test_indexed_multistream_dump_splits_into_shards(wiki_dir: Path, tmp_path: Path) -> None:
    raw = bz2.decompress((wiki_dir / UK_DUMP).read_bytes()).decode("utf-8")
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    dump = dumps / "ukwiki-20230501-pages-articles-multistream.xml.bz2"
    index = dumps / "ukwiki-20230501-pages-articles-multistream-index.txt.bz2"
    assert _write_multistream(raw, dump, index, pages_per_stream=10) == 11
    assert multistream_index_path(dump) == index
    assert read_siteinfo(dump).language == "uk"

    def run(split_bytes: int, name: str) -> tuple[list, int]:
        cfg = config_from_dict(
            {
                "run": {"dir": str(tmp_path / name)},
                "sources": {"wikipedia": {"inputs": [str(dumps)], "split_bytes": split_bytes}},
            },
            tmp_path,
        )
        (spec,) = build_stages(cfg)
        result = run_stage(spec, tmp_path / name, executor="inprocess")
        return _stage_docs(tmp_path / name / "ingest" / "wikipedia"), result.shards_total

    whole_docs, whole_shards = run(10**12, "whole")
    split_docs, split_shards = run(dump.stat().st_size // 4, "split")
    assert whole_shards == 1 and split_shards >= 3
    assert len(whole_docs) == 100  # 107 articles minus 7 redirects
    assert [(d.id, d.text) for d in split_docs] == [(d.id, d.text) for d in whole_docs]
    assert {d.meta["language"] for d in split_docs} == {"uk"}


def _uk_text(wiki_dir: Path) -> str:
    return bz2.decompress((wiki_dir / UK_DUMP).read_bytes()).decode("utf-8")


def _clean_all(path: Path) -> list[tuple[str, str]]:
    dump = MediaWikiDump(path)
    cleaner = None
    out = []
    for page in dump:
        cleaner = cleaner or WikitextCleaner.for_namespaces(dump.siteinfo.namespaces)
        if page.ns == 0 and not page.redirect:
            out.append((page.title, cleaner.clean(page.text).text))
    return out


#: How other wikis write a file link: aliases (not in siteinfo), other names, a comment inside
#: the target (escaped as in the dump's XML).
FILE_LINK_FORMS = ("Εικόνα", "画像", "Fichier", "Datei", "Bild", "&lt;!-- ілюстрація --&gt;Файл")


def test_localized_file_links_leave_no_parameters(wiki_dir: Path, tmp_path: Path) -> None:
    """The real ukwiki pages with their 487 ``[[Файл:...|250px|thumb|...]]`` links rewritten,
    in turn, as Greek, Japanese, French, German wikis write them (the dump's siteinfo now says
    Greek, ``Αρχείο``), clean to exactly the text of the original dump."""
    raw = _uk_text(wiki_dir)
    expected = _clean_all(wiki_dir / UK_DUMP)
    pieces = raw.split("[[Файл:")
    assert len(pieces) == 488
    changed = pieces[0] + "".join(
        f"[[{FILE_LINK_FORMS[i % len(FILE_LINK_FORMS)]}:{piece}"
        for i, piece in enumerate(pieces[1:])
    )
    changed = changed.replace("<dbname>ukwiki</dbname>", "<dbname>elwiki</dbname>")
    changed = changed.replace(
        '<namespace key="6" case="first-letter">Файл</namespace>',
        '<namespace key="6" case="first-letter">Αρχείο</namespace>',
    )
    # and plain links with a comment in their target: [[Київ<!-- прихована-примітка -->]]
    assert changed.count("[[Київ]]") == 34
    changed = changed.replace("[[Київ]]", "[[Київ&lt;!-- прихована-примітка --&gt;]]")
    path = tmp_path / "dump.xml"
    path.write_text(changed, encoding="utf-8")
    got = _clean_all(path)
    assert got == expected
    joined = "\n".join(text for _t, text in got)
    assert not re.search(r"\d+px|мініатюра\||thumb\||<!--|прихована-примітка", joined)


def test_dump_without_language_fails_or_takes_the_override(wiki_dir: Path, tmp_path: Path) -> None:
    """The real enwiki sample without its <siteinfo>, under a name without ``enwiki-``."""
    raw = bz2.decompress((wiki_dir / EN_DUMP).read_bytes()).decode("utf-8")
    headless = re.sub(r"<siteinfo>.*?</siteinfo>", "", raw, count=1, flags=re.DOTALL)
    path = tmp_path / "articles.xml"
    path.write_text(headless, encoding="utf-8")

    def run(run_dir: Path, **section: object):
        cfg = config_from_dict(
            {
                "run": {"dir": str(run_dir)},
                "sources": {"wikipedia": {"inputs": [str(path)], **section}},
            },
            run_dir,
        )
        (spec,) = build_stages(cfg)
        return run_stage(spec, run_dir, executor="inprocess", retries=0)

    with pytest.raises(Exception, match="language_override") as failure:
        run(tmp_path / "plain")
    assert str(path) in str(failure.value)
    result = run(tmp_path / "override", language_override="en")
    assert result.counters.totals["docs_out"] >= 90
    docs = _stage_docs(tmp_path / "override" / "ingest" / "wikipedia")
    assert all(d.id.startswith("wikipedia/en/") and d.meta["language"] == "en" for d in docs)
    assert docs[0].meta["url"].startswith("https://en.wikipedia.org/wiki/")


def test_xml_that_is_not_a_dump_is_a_counted_error(realdata: Path, tmp_path: Path) -> None:
    """A real StackExchange Posts.xml offered as a Wikipedia dump."""
    path = tmp_path / "enwiki-20240101-pages-articles.xml"
    path.write_bytes((realdata / "stackexchange/coffee.stackexchange.com_Posts.xml").read_bytes())
    cfg = config_from_dict(
        {"run": {"dir": str(tmp_path)}, "sources": {"wikipedia": {"inputs": [str(path)]}}},
        tmp_path,
    )
    (spec,) = build_stages(cfg)
    result = run_stage(spec, tmp_path, executor="inprocess")
    assert result.counters.totals["errors"] == 1
    (error,) = result.counters.errors
    assert error["path"] == str(path)
    assert "not a MediaWiki dump (root element <posts>" in error["error"]
    assert result.counters.totals.get("docs_out", 0) == 0
