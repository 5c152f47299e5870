"""Wikipedia ingestion against a plain mwparserfromhell ``strip_code`` pass on the same pages.

Baseline: ``mwparserfromhell.parse(text).strip_code()`` on every article page (ns 0, not a
redirect) of the real dumps, the minimal "wikitext to text" anyone would write. Ours: the
WikitextCleaner (own renderer, File/category/interlanguage removal, leftover-markup scrub, ref
URL collection), then the whole stage (bz2 + XML streaming + cleaning + Parquet). One core.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import mwparserfromhell

from bench.common import realdata_dir
from llamapipe.config import config_from_dict
from llamapipe.engine import run_stage
from llamapipe.formats.mediawiki import MediaWikiDump
from llamapipe.sources.wikipedia import build_stages
from llamapipe.text.wikitext import WikitextCleaner, is_redirect_text

REALDATA = realdata_dir()
DUMPS = sorted((REALDATA / "wikipedia").glob("*.xml.bz2"))


def load_articles() -> list[tuple[dict[int, str], str]]:
    articles = []
    for path in DUMPS:
        dump = MediaWikiDump(path)
        for page in dump:
            if page.ns == 0 and not page.redirect and not is_redirect_text(page.text):
                articles.append((dump.siteinfo.namespaces, page.text))
    return articles


def main() -> None:
    if not DUMPS:
        sys.exit(f"bench_wikipedia: needs {REALDATA / 'wikipedia'} (set $LLAMAPIPE_REALDATA)")
    articles = load_articles()
    pages = len(articles)
    mb = sum(len(text.encode("utf-8")) for _, text in articles) / 1e6

    t0 = time.perf_counter()
    for _, text in articles:
        mwparserfromhell.parse(text).strip_code()
    base_s = time.perf_counter() - t0

    cleaners: dict[int, WikitextCleaner] = {}
    t0 = time.perf_counter()
    for namespaces, text in articles:
        cleaner = cleaners.setdefault(id(namespaces), WikitextCleaner.for_namespaces(namespaces))
        cleaner.clean(text)
    ours_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        cfg = config_from_dict(
            {"run": {"dir": tmp}, "sources": {"wikipedia": {"inputs": [str(p) for p in DUMPS]}}},
            Path(tmp),
        )
        t0 = time.perf_counter()
        result = run_stage(build_stages(cfg)[0], tmp, executor="inprocess")
        stage_s = time.perf_counter() - t0
    docs_in = result.counters.totals["docs_in"]

    print(f"articles {pages} ({mb:.1f} MB wikitext) from {len(DUMPS)} real dumps, one core")
    print(f"baseline strip_code:      {pages / base_s:,.1f} pages/s, {mb / base_s:.2f} MB/s")
    print(f"WikitextCleaner.clean:    {pages / ours_s:,.1f} pages/s, {mb / ours_s:.2f} MB/s")
    print(
        f"ingest/wikipedia stage:   {docs_in / stage_s:,.1f} pages/s (all pages read), "
        f"{mb / stage_s:.2f} MB/s of article wikitext"
    )
    print(f"ratio cleaner vs strip_code (throughput): {base_s / ours_s:.2f}x")
    print(f"ratio stage vs strip_code (throughput): {base_s / stage_s:.2f}x")


if __name__ == "__main__":
    main()
