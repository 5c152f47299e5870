"""MediaWiki export-0.10 XML dumps (bz2) for en, de and fr.

Articles are wikitext with infoboxes, [[links|anchors]], file links, <ref>s ({{cite web |url=}} and
bare URLs), tables, comments, __TOC__, headings and categories; plus redirects (both the
<redirect/> element and #REDIRECT text) and a few Talk/Template/project pages. English articles
cite the shared reference URLs (samplegen.common.references), some of which are crawl pages.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from . import lexicon as lx
from .common import SEED, Reference, references, rng_for, slugify, write_bz2
from .compose import Composer

NAMESPACES = {
    "en": {-2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Wikipedia",
           5: "Wikipedia talk", 6: "File", 7: "File talk", 10: "Template", 11: "Template talk",
           12: "Help", 13: "Help talk", 14: "Category", 15: "Category talk", 828: "Module"},
    "de": {-2: "Medium", -1: "Spezial", 0: "", 1: "Diskussion", 2: "Benutzer",
           3: "Benutzer Diskussion", 4: "Wikipedia", 5: "Wikipedia Diskussion", 6: "Datei",
           7: "Datei Diskussion", 10: "Vorlage", 11: "Vorlage Diskussion", 12: "Hilfe",
           13: "Hilfe Diskussion", 14: "Kategorie", 15: "Kategorie Diskussion", 828: "Modul"},
    "fr": {-2: "Média", -1: "Spécial", 0: "", 1: "Discussion", 2: "Utilisateur",
           3: "Discussion utilisateur", 4: "Wikipédia", 5: "Discussion Wikipédia", 6: "Fichier",
           7: "Discussion fichier", 10: "Modèle", 11: "Discussion modèle", 12: "Aide",
           13: "Discussion aide", 14: "Catégorie", 15: "Discussion catégorie", 828: "Module"},
}
SITENAMES = {"en": "Wikipedia", "de": "Wikipedia", "fr": "Wikipédia"}
N_ARTICLES = {"en": 90, "de": 30, "fr": 30}
N_REDIRECTS = {"en": 8, "de": 3, "fr": 3}
REDIRECT_WORD = {"en": "#REDIRECT", "de": "#WEITERLEITUNG", "fr": "#REDIRECTION"}
SECTIONS = {
    "en": ["History", "Description", "Activities", "Notable people", "Later years", "Legacy",
           "Geography", "Records", "Reception", "Organisation"],
    "de": ["Geschichte", "Geographie", "Kultur", "Wirtschaft", "Persönlichkeiten", "Verkehr"],
    "fr": ["Histoire", "Géographie", "Culture", "Économie", "Personnalités", "Transports"],
}
CATEGORY_WORD = {"en": "Category", "de": "Kategorie", "fr": "Catégorie"}


def _base36_sha1(text: str) -> str:
    """MediaWiki stores revision sha1 as base-36 of the SHA-1, padded to 31 characters."""
    n = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest(), "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(31, "0")


class _Wiki:
    def __init__(self, lang: str, c: Composer) -> None:
        self.lang = lang
        self.c = c
        self.pages: list[str] = []
        self.page_id = {"en": 1000, "de": 2000, "fr": 3000}[lang]
        self.rev_id = self.page_id * 1000
        self.titles: set[str] = set()
        self.counts = {"articles": 0, "redirects": 0, "other_ns": 0}

    def unique_title(self, title: str) -> str:
        base, n = title, 2
        while title in self.titles:
            title = f"{base} ({n})" if n > 2 else f"{base} ({self.c.place()})"
            n += 1
        self.titles.add(title)
        return title

    def add(self, title: str, ns: int, text: str, redirect: str | None = None) -> None:
        rng = self.c.rng
        self.page_id += rng.randint(1, 40)
        self.rev_id += rng.randint(1, 5000)
        parent = self.rev_id - rng.randint(1, 900)
        ts = (f"{rng.randint(2015, 2019)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
              f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z")
        if rng.random() < 0.8:
            contributor = (f"      <contributor>\n        <username>{escape(self.c.person().replace(' ', ''))}"
                           f"</username>\n        <id>{rng.randint(1000, 9999999)}</id>\n      </contributor>\n")
        else:
            ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
            contributor = f"      <contributor>\n        <ip>{ip}</ip>\n      </contributor>\n"
        redirect_el = f"    <redirect title={quoteattr(redirect)} />\n" if redirect else ""
        comment = "      <comment>copyedit</comment>\n" if rng.random() < 0.4 else ""
        nbytes = len(text.encode("utf-8"))
        self.pages.append(
            "  <page>\n"
            f"    <title>{escape(title)}</title>\n"
            f"    <ns>{ns}</ns>\n"
            f"    <id>{self.page_id}</id>\n"
            f"{redirect_el}"
            "    <revision>\n"
            f"      <id>{self.rev_id}</id>\n"
            f"      <parentid>{parent}</parentid>\n"
            f"      <timestamp>{ts}</timestamp>\n"
            f"{contributor}{comment}"
            "      <model>wikitext</model>\n"
            "      <format>text/x-wiki</format>\n"
            f'      <text xml:space="preserve" bytes="{nbytes}">{escape(text)}</text>\n'
            f"      <sha1>{_base36_sha1(text)}</sha1>\n"
            "    </revision>\n"
            "  </page>\n"
        )

    def xml(self) -> bytes:
        ns_lines = "".join(
            f'      <namespace key="{k}" case="first-letter">{escape(v)}</namespace>\n' if v
            else f'      <namespace key="{k}" case="first-letter" />\n'
            for k, v in sorted(NAMESPACES[self.lang].items())
        )
        head = (
            '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ '
            'http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" '
            f'xml:lang="{self.lang}">\n'
            "  <siteinfo>\n"
            f"    <sitename>{SITENAMES[self.lang]}</sitename>\n"
            f"    <dbname>{self.lang}wiki</dbname>\n"
            f"    <base>https://{self.lang}.wikipedia.org/wiki/Main_Page</base>\n"
            "    <generator>MediaWiki 1.34.0-wmf.1 (llamapipe synthetic sample)</generator>\n"
            "    <case>first-letter</case>\n"
            "    <namespaces>\n"
            f"{ns_lines}"
            "    </namespaces>\n"
            "  </siteinfo>\n"
        )
        return (head + "".join(self.pages) + "</mediawiki>\n").encode("utf-8")


def _linkify(c: Composer, para: str, topic: str | None, fixed: dict[str, str]) -> str:
    """Turn some names and topic nouns into [[links]] and [[target|anchor]] links."""
    rng = c.rng
    for key in ("place", "person"):
        name = fixed.get(key)
        if name and name in para and rng.random() < 0.7:
            link = f"[[{name}]]" if rng.random() < 0.6 else f"[[{name} ({'town' if key == 'place' else 'writer'})|{name}]]"
            para = para.replace(name, link, 1)
    if topic:
        for key, words in lx.TOPICS[topic].items():
            if key == "templates":
                continue
            for phrase in words:
                m = re.match(r"(the|a|an) (.+)", phrase)
                if m and phrase in para and rng.random() < 0.3:
                    noun = m.group(2)
                    target = noun[0].upper() + noun[1:]
                    link = f"[[{noun}]]" if rng.random() < 0.5 else f"[[{target}|{noun}]]"
                    para = para.replace(phrase, f"{m.group(1)} {link}", 1)
    return para


def _cite(c: Composer, lang: str, url: str, title: str) -> str:
    rng = c.rng
    date = f"{rng.randint(2015, 2019)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    style = rng.random()
    if style < 0.25:
        return f"<ref>{url}</ref>"  # bare URL reference
    if lang == "de" and style < 0.7:
        return f"<ref>{{{{Internetquelle |url={url} |titel={title} |abruf={date}}}}}</ref>"
    if lang == "fr" and style < 0.7:
        return f"<ref>{{{{Lien web |url={url} |titre={title} |consulté le={date}}}}}</ref>"
    name = f' name="r{rng.randint(1, 999)}"' if rng.random() < 0.3 else ""
    return f"<ref{name}>{{{{cite web |url={url} |title={title} |access-date={date}}}}}</ref>"


def _table(c: Composer, lang: str) -> str:
    head = {"en": ("Year", "Count"), "de": ("Jahr", "Anzahl"), "fr": ("Année", "Nombre")}[lang]
    rows = "".join(f"|-\n| {c.year()} || {c.rng.randint(10, 5000)}\n" for _ in range(c.rng.randint(3, 6)))
    return f'{{| class="wikitable"\n|-\n! {head[0]} !! {head[1]}\n{rows}|}}'


def _article(w: _Wiki, refs: list[Reference]) -> tuple[str, str]:
    c, lang, rng = w.c, w.lang, w.c.rng
    if refs:
        topic, fixed = refs[0].topic, {"place": refs[0].place, "person": refs[0].person}
    else:
        topic = c.topic() if lang == "en" else None
        fixed = c.anchor("") if lang == "en" else {"place": c.place(), "person": c.person()}
    title = w.unique_title(c.title(topic, fixed) if topic else fixed["place"])
    file_word = NAMESPACES[lang][6]
    parts: list[str] = []
    if lang == "en":
        parts.append(f"{{{{Short description|{c.fill('{adj}')} topic connected with {fixed['place']}}}}}")
        parts.append(
            f"{{{{Infobox {topic}\n| name = {title}\n| image = {slugify(title)}.jpg\n"
            f"| location = [[{fixed['place']}]]\n| established = {c.year()}\n}}}}"
        )
        lead = c.paragraph(topic, fixed, 2, 4)
        parts.append(f"'''{title}''' is a subject associated with [[{fixed['place']}]]. " + _linkify(c, lead, topic, fixed))
    else:
        box = "Infobox Gemeinde" if lang == "de" else "Infobox Commune de France"
        parts.append(f"{{{{{box}\n| Name = {title}\n| Einwohner = {rng.randint(200, 90000)}\n}}}}"
                     if lang == "de" else
                     f"{{{{{box}\n| nom = {title}\n| population = {rng.randint(200, 90000)}\n}}}}")
        other = c.place()
        lead = (f"'''{title}''' ist eine Gemeinde im Tal der {other}er Ache." if lang == "de"
                else f"'''{title}''' est une commune située à l'est de [[{other}]].")
        parts.append(lead + " " + c.foreign_paragraph(lang, place=fixed['place']))
    if rng.random() < 0.4:
        parts.append("__TOC__")
    sections = rng.sample(SECTIONS[lang], rng.randint(3, 5) if lang == "en" else rng.randint(2, 4))
    pending = list(refs)
    for i, sec in enumerate(sections):
        parts.append(f"== {sec} ==")
        if i == 0 and rng.random() < 0.6:
            caption = {"en": f"{c.fill('{adj}')} view of {fixed['place']}", "de": f"Ansicht von {title}",
                       "fr": f"Vue de {title}"}[lang]
            parts.append(f"[[{file_word}:{slugify(title)}-{i}.jpg|thumb|right|{caption}]]")
        for _ in range(rng.randint(2, 3) if lang == "en" else rng.randint(1, 2)):
            para = c.paragraph(topic, fixed, 3, 6) if lang == "en" else c.foreign_paragraph(lang, place=fixed['place'])
            if lang == "en":
                para = _linkify(c, para, topic, fixed)
            if pending and rng.random() < 0.6:
                ref = pending.pop()
                para += _cite(c, lang, ref.url, ref.title)
            elif lang == "en" and rng.random() < 0.3:
                para += f"<ref>{{{{cite book |last={c.surname()} |title={c.title(c.topic(), fixed)} |year={c.year()}}}}}</ref>"
            elif rng.random() < 0.3:
                book = (f"Literatur |Autor={c.person()} |Titel=Chronik von {fixed['place']} |Jahr={c.year()}"
                        if lang == "de" else
                        f"Ouvrage |auteur={c.person()} |titre=Histoire de {fixed['place']} |année={c.year()}")
                para += f"<ref>{{{{{book}}}}}</ref>"
            parts.append(para)
        if rng.random() < 0.2:
            parts.append({"en": f"<!-- {c.fill('{adj}')} wording; please check the figures before changing -->",
                          "de": "<!-- Einwohnerzahl bitte nur mit Beleg ändern -->",
                          "fr": "<!-- Merci de ne pas modifier les chiffres sans source -->"}[lang])
        if rng.random() < 0.2:
            parts.append(_table(c, lang))
        if lang == "en" and rng.random() < 0.1:
            parts.append(rng.choice(lx.EN_PARAGRAPHS))
    for ref in pending:
        said = {"en": "It is described in a local publication.",
                "de": "Der Ort wird in einer Ortschronik beschrieben.",
                "fr": "La commune est décrite dans une publication locale."}[lang]
        parts.append(f"{said}{_cite(c, lang, ref.url, ref.title)}")
    parts.append({"en": "== References ==\n{{Reflist}}", "de": "== Einzelnachweise ==\n<references />",
                  "fr": "== Notes et références ==\n{{Références}}"}[lang])
    cats = [fixed["place"], topic.title() if topic else {"de": "Ort", "fr": "Commune"}[lang]]
    parts.append("\n".join(f"[[{CATEGORY_WORD[lang]}:{cat}]]" for cat in cats))
    return title, "\n\n".join(parts) + "\n"


def _foreign_refs(c: Composer, lang: str) -> list[Reference]:
    tld = {"de": "de", "fr": "fr"}[lang]
    place = c.place()
    return [Reference(f"https://www.{place.lower()}.{tld}/archiv/{c.rng.randint(1, 999)}", "", place,
                      c.person(), place, in_crawl=False)]


def _wiki(lang: str, seed: int) -> _Wiki:
    c = Composer(rng_for(f"wikipedia-{lang}", seed))
    w = _Wiki(lang, c)
    all_refs = references(seed) if lang == "en" else []
    article_titles = []
    for i in range(N_ARTICLES[lang]):
        if lang == "en":
            refs = [all_refs[i]] if i < len(all_refs) else []
        else:
            refs = _foreign_refs(c, lang) if c.rng.random() < 0.5 else []
        title, text = _article(w, refs)
        w.add(title, 0, text)
        w.counts["articles"] += 1
        article_titles.append(title)
    for i in range(N_REDIRECTS[lang]):
        target = article_titles[c.rng.randrange(len(article_titles))]
        alias = w.unique_title(target.upper() if i % 2 else f"{target.split(' ')[-1]} ({target})")
        text = f"{REDIRECT_WORD[lang] if i % 3 else '#REDIRECT'} [[{target}]]"
        if lang == "en" and i % 2 == 0:
            text += "\n\n{{R from alternative name}}"
        w.add(alias, 0, text, redirect=target)
        w.counts["redirects"] += 1
    talk, template = NAMESPACES[lang][1], NAMESPACES[lang][10]
    for title in article_titles[:3]:
        sig = f"[[User:{c.person().replace(' ', '')}]] 12:0{c.rng.randint(0, 9)}, 3 May 2019 (UTC)"
        text = (f"== Figures ==\nThe population figure in the infobox looks too high. {sig}\n"
                f":I checked the archive; it matches the {c.year()} count. {sig}\n")
        w.add(f"{talk}:{title}", 1, text)
        w.counts["other_ns"] += 1
    box = "Infobox place" if lang == "en" else ("Infobox Gemeinde" if lang == "de" else "Infobox Commune de France")
    w.add(f"{template}:{box}", 10,
          "<includeonly>{| class=\"infobox\"\n! colspan=2 | {{{name|{{PAGENAME}}}}}\n|-\n| Location || "
          "{{{location|}}}\n|}</includeonly><noinclude>\nDocumentation for this template.\n</noinclude>\n")
    w.counts["other_ns"] += 1
    if lang == "en":
        w.add("Wikipedia:Sample project page", 4, "This page explains how the sample wiki is organised.\n")
        w.counts["other_ns"] += 1
    return w


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    counts = {}
    for lang in ("en", "de", "fr"):
        w = _wiki(lang, seed)
        name = f"wikipedia/{lang}wiki-sample-pages-articles.xml.bz2"
        write_bz2(out / name, w.xml())
        counts[name] = len(w.pages)
        for k, v in w.counts.items():
            counts[f"{name}#{k}"] = v
    return counts
