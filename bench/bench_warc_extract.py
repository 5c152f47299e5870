"""Main-text extraction from real WARC HTML pages: resiliparse (the default) vs trafilatura.

The pages: every HTML 200 response of the real WARC samples in commoncrawl/ of the realdata
folder ($LLAMAPIPE_REALDATA, else ../shared/realdata next to the repository). Each page is
decoded once beforehand (formats/warc_html.py `decode_html`), so that the timed loops measure
the extractor alone: HTML string -> (title, paragraphs). Also timed: the whole record path of
the Common Crawl source with resiliparse (HTTP parse, decode, extract; `response_to_wet`).

Reported per extractor: pages/s per core (pages / CPU seconds of this single-threaded
process) and pages/s of wall time, the mean characters kept per page, and, on the one page
that Common Crawl's WET also holds, the share of extracted lines that are lines of CC's WET.
Run: `python -m bench.bench_warc_extract` (trafilatura is the `bench` extra; without it only
resiliparse is measured).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fastwarc.warc import ArchiveIterator

from llamapipe.formats.warc_html import (
    decode_html,
    extract_resiliparse,
    extract_trafilatura,
    media_type,
    parse_http_response,
    payload,
    response_to_wet,
)
from llamapipe.formats.wet import read_wet

WARCS = [
    "DERIVED_trafilatura_tests_cache_110pages.warc.gz",
    "resiliparse_CC-MAIN-20200808165417-20200808195417-00395.sample.warc.gz",
    "whirlwind_CC-MAIN-2024-22.warc.gz",
]
WET_TWIN = "whirlwind_CC-MAIN-2024-22.warc.wet.gz"
#: Repeat the fast loops until they took at least this much CPU time.
MIN_CPU_S = 3.0


def realdata_dir() -> Path:
    env = os.environ.get("LLAMAPIPE_REALDATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "realdata"
    return root / "commoncrawl"


def load_pages(folder: Path) -> list[tuple[dict[str, str], bytes, str, str]]:
    """(lower-case WARC headers, raw block, decoded HTML, URL) of every HTML 200 response."""
    pages = []
    for name in WARCS:
        with open(folder / name, "rb") as fh:
            for record in ArchiveIterator(fh, parse_http=False):
                headers = {k.lower(): v for k, v in record.headers.items()}
                if headers.get("warc-type") != "response":
                    continue
                block = record.reader.read()
                response = parse_http_response(block)
                if response.status != 200 or "html" not in media_type(response, headers):
                    continue
                decoded = decode_html(payload(response), response.headers.get("content-type", ""))
                if decoded is not None:
                    pages.append((headers, block, decoded[0], headers["warc-target-uri"]))
    return pages


def timed(work: Callable[[], object], pages: int, min_cpu_s: float) -> tuple[float, float, int]:
    """(pages/s per CPU second, pages/s of wall time, rounds) over enough rounds."""
    rounds, cpu, wall = 0, 0.0, 0.0
    while cpu < min_cpu_s or rounds == 0:
        c0, w0 = time.process_time(), time.perf_counter()
        work()
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        rounds += 1
    return pages * rounds / cpu, pages * rounds / wall, rounds


def wet_overlap(folder: Path, extract: Callable[[str], tuple[str, list[str]]], html: str) -> float:
    (wet,) = list(read_wet(folder / WET_TWIN))
    wet_lines = set(wet.raw_content.split("\n"))
    _, lines = extract(html)
    return sum(line in wet_lines for line in lines) / max(len(lines), 1)


def main() -> None:
    folder = realdata_dir()
    missing = [name for name in [*WARCS, WET_TWIN] if not (folder / name).exists()]
    if missing:
        sys.exit(f"bench_warc_extract: missing {missing} in {folder} (set $LLAMAPIPE_REALDATA)")
    pages = load_pages(folder)
    htmls = [html for _, _, html, _ in pages]
    twin = next(html for _, _, html, url in pages if url.endswith("/wiki/Escopete"))
    mb = sum(len(block) for _, block, _, _ in pages) / 1e6
    print(f"{len(pages)} HTML pages, {mb:.1f} MB of HTTP responses, from {len(WARCS)} WARC files")
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} at start")
    extractors: dict[str, Callable[[str], tuple[str, list[str]]]] = {
        "resiliparse": extract_resiliparse
    }
    try:
        import trafilatura  # noqa: F401

        extractors["trafilatura"] = extract_trafilatura
    except ImportError:
        print("trafilatura not installed (pip install .[bench]): measuring resiliparse only")
    per_core: dict[str, float] = {}
    for name, extract in extractors.items():
        outputs = [extract(html) for html in htmls]  # warm-up; also the quality figures
        chars = sum(len(title) + sum(map(len, lines)) for title, lines in outputs) / len(pages)
        empty = sum(not lines for _, lines in outputs)
        rate, wall_rate, rounds = timed(
            lambda extract=extract: [extract(html) for html in htmls], len(pages), MIN_CPU_S
        )
        per_core[name] = rate
        print(
            f"{name:12s} {rate:8.1f} pages/s/core (CPU)  {wall_rate:8.1f} pages/s (wall)  "
            f"{rounds} rounds  {chars:7.0f} chars/page  {empty} pages empty  "
            f"lines in CC's WET: {wet_overlap(folder, extract, twin):.0%}"
        )
    rate, wall_rate, rounds = timed(
        lambda: [response_to_wet(h, b, "bench", lambda *_: None) for h, b, _, _ in pages],
        len(pages),
        MIN_CPU_S,
    )
    print(
        f"{'record path':12s} {rate:8.1f} pages/s/core (CPU)  {wall_rate:8.1f} pages/s (wall)  "
        f"{rounds} rounds  (HTTP parse + charset + resiliparse, per WARC response)"
    )
    if "trafilatura" in per_core:
        ratio = per_core["resiliparse"] / per_core["trafilatura"]
        print(f"ratio resiliparse vs trafilatura pages/s/core: {ratio:.1f}x")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
