"""CommonCrawl WET files: warcinfo + conversion records, one gzip member per record.

Page mix per file (shuffled): good English articles, articles at Wikipedia-cited URLs, mediocre
blog posts, keyword spam, SEO pages, other languages, near-empty pages, exact duplicates of
earlier pages (same file and earlier files) and binary-looking junk. Site menus, cookie banners and
footers repeat across pages and files so that CCNet's line dedup has real work.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import lexicon as lx
from .common import SEED, Reference, domain, gzip_bytes, references, rng_for, slugify, write_bytes
from .compose import Composer

CRAWL = "CC-MAIN-2099-00"
N_FILES = 3
# kind -> pages per file
MIX = {
    "good": 90, "ref": 12, "mediocre": 20, "spam": 10, "seo": 8,
    "de": 12, "fr": 10, "es": 9, "ru": 3, "zh": 2,
    "short": 6, "duplicate": 6, "junk": 3,
}
LANG_CODES = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "ru": "rus", "zh": "zho"}
N_SITES = 14


@dataclass
class Page:
    url: str
    text: str
    kind: str
    lang: str  # ISO 639-1 of the main text, "" for junk


@dataclass
class Site:
    host: str
    name: str
    menu: list[str]
    tagline: str


def _sites(c: Composer) -> list[Site]:
    sites = []
    for _ in range(N_SITES):
        host = domain(c)
        name = host.split(".")[1].replace("-", " ").title()
        menu = c.rng.sample(lx.MENU_WORDS, c.rng.randint(4, 8))
        sites.append(Site(host, name, menu, f"{name} - {c.fill('{adj}')} stories from {c.place()}"))
    return sites


def _wrap(c: Composer, site: Site, title: str, body: list[str], date_line: bool = True) -> str:
    """Put page chrome (menu, cookie banner, footer) around body lines, as extracted WET text."""
    lines = [f"{title} | {site.name}"]
    if c.rng.random() < 0.5:
        lines += site.menu
    else:
        lines.append(" | ".join(site.menu))
    if c.rng.random() < 0.6:
        lines.append(c.rng.choice(lx.COOKIE_LINES))
    lines.append(title)
    if date_line:
        lines.append(f"Posted on {c.rng.choice(lx.MONTHS)} {c.rng.randint(1, 28)}, "
                     f"{c.rng.randint(2009, 2019)} by {c.person()}")
    lines += body
    lines += c.rng.sample(lx.FOOTER_LINES, c.rng.randint(2, 5))
    lines.append(f"© {c.rng.randint(2010, 2019)} {site.name}. {site.tagline}")
    return "\n".join(lines)


def _page(c: Composer, kind: str, sites: list[Site], ref: Reference | None) -> Page:
    rng = c.rng
    site = rng.choice(sites)
    if kind in ("good", "ref"):
        if ref is not None:
            topic, fixed, title = ref.topic, {"place": ref.place, "person": ref.person}, ref.title
            url = ref.url
        else:
            topic = c.topic()
            fixed = c.anchor(topic)
            title = c.title(topic, fixed)
            url = f"https://{site.host}/{rng.choice(['blog', 'articles', 'news', 'stories'])}/{slugify(title)}"
        body = c.article(topic, rng.randint(3, 8), fixed)
        return Page(url, _wrap(c, site, title, body), kind, "en")
    if kind == "mediocre":
        topic = c.topic()
        title = c.title(topic, c.anchor(topic)).lower()
        body = c.mediocre_lines(topic, rng.randint(6, 16))
        return Page(f"https://{site.host}/p/{rng.randint(100, 99999)}", _wrap(c, site, title, body), kind, "en")
    if kind == "spam":
        body = c.spam_lines(rng.randint(8, 25))
        url = f"http://{slugify(body[0])[:40]}-{rng.randint(1, 999)}.biz/index.php?id={rng.randint(1, 9999)}"
        return Page(url, "\n".join(body), kind, "en")
    if kind == "seo":
        title, body = c.seo_lines(rng.randint(10, 30))
        return Page(f"https://{site.host}/{slugify(title)}", _wrap(c, site, title, body, False), kind, "en")
    if kind in ("de", "fr", "es", "ru", "zh"):
        host = f"www.{c.place().lower()}.{ {'de': 'de', 'fr': 'fr', 'es': 'es', 'ru': 'ru', 'zh': 'cn'}[kind]}"
        town = c.place()
        paras = [c.foreign_paragraph(kind, place=town) for _ in range(rng.randint(2, 6))]
        first = paras[0].split(".")[0].split("。")[0][:60]
        lines = [first, " | ".join(rng.sample(lx.MENU_WORDS, 4))] + paras
        if rng.random() < 0.5:
            lines.append(rng.choice(lx.COOKIE_LINES))
        return Page(f"https://{host}/{rng.randint(1, 9999)}.html", "\n".join(lines), kind, kind)
    if kind == "short":
        topic = c.topic()
        title = c.title(topic, c.anchor(topic))
        text = "\n".join([title, rng.choice(lx.FOOTER_LINES), "Page not found" if rng.random() < 0.5
                          else c.sentence(topic)])[:280]
        return Page(f"https://{site.host}/{rng.randint(1, 999)}", text, kind, "en")
    if kind == "junk":
        text = c.noise(rng.randint(400, 2500))
        return Page(f"http://{site.host}/download/file{rng.randint(1, 99)}.bin", text, kind, "")
    raise ValueError(kind)


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def _wet_file(c: Composer, index: int, pages: list[Page], modern: bool) -> bytes:
    rng = c.rng
    filename = f"{CRAWL}-sample-{index:05d}.warc.wet.gz"
    info = (
        "Software-Info: llamapipe data/generate.py (synthetic sample, original text)\r\n"
        f"Extracted-Date: Sat, 0{index + 1} Jan 2099 00:00:00 GMT\r\n"
        f"isPartOf: {CRAWL}\r\n"
        "operator: llamapipe sample generator\r\n"
        "description: Synthetic WET file for the llamapipe demo; every page is generated\r\n"
        "publisher: llamapipe\r\n\r\n"
    ).encode()
    date = f"2099-01-0{index + 1}T00:00:00Z"
    members = [gzip_bytes(_record([
        ("WARC-Type", "warcinfo"),
        ("WARC-Date", date),
        ("WARC-Filename", filename),
        ("WARC-Record-ID", f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"),
        ("Content-Type", "application/warc-fields"),
        ("Content-Length", str(len(info))),
        ("WARC-Block-Digest", _digest(info)),
    ], info))]
    for p in pages:
        block = p.text.encode("utf-8")
        digest = _digest(block)
        when = (f"2099-01-0{index + 1}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                f"{rng.randint(0, 59):02d}Z")
        headers = [
            ("WARC-Type", "conversion"),
            ("WARC-Target-URI", p.url),
            ("WARC-Date", when),
            ("WARC-Record-ID", f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"),
            ("WARC-Refers-To", f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"),
            ("WARC-Block-Digest", digest),
        ]
        if modern:
            if p.lang:
                headers.append(("WARC-Identified-Content-Language", LANG_CODES[p.lang]))
            headers += [("Content-Type", "text/plain"), ("Content-Length", str(len(block))),
                        ("WARC-Payload-Digest", digest)]
        else:
            headers += [("Content-Type", "text/plain"), ("Content-Length", str(len(block)))]
        members.append(gzip_bytes(_record(headers, block)))
    return b"".join(members)


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    """Write the WET files; returns counts for the README."""
    c = Composer(rng_for("commoncrawl", seed))
    sites = _sites(c)
    refs = [r for r in references(seed) if r.in_crawl]
    per_file = len(refs) // N_FILES
    seen: list[Page] = []
    counts: dict[str, int] = {}
    for index in range(N_FILES):
        kinds = [k for k, n in MIX.items() for _ in range(n)]
        c.rng.shuffle(kinds)
        file_refs = refs[index * per_file:(index + 1) * per_file]
        pages: list[Page] = []
        for kind in kinds:
            if kind == "duplicate":
                pool = [p for p in seen + pages if p.kind in ("good", "mediocre", "de", "fr")]
                src = c.rng.choice(pool)
                mirror = src.url.replace("https://", "https://mirror.", 1) if c.rng.random() < 0.7 else src.url
                pages.append(Page(mirror, src.text, "duplicate", src.lang))
                continue
            ref = file_refs.pop() if kind == "ref" else None
            pages.append(_page(c, kind, sites, ref))
        seen += pages
        data = _wet_file(c, index, pages, modern=index == N_FILES - 1)
        write_bytes(out / "commoncrawl" / f"{CRAWL}-sample-{index:05d}.warc.wet.gz", data)
        counts[f"commoncrawl/{CRAWL}-sample-{index:05d}.warc.wet.gz"] = len(pages)
    return counts
