"""Wikitext -> plain article text, the LLaMA way, plus the URLs an article cites.

The paper removes "hyperlinks, comments and other formatting boilerplate". We parse with
mwparserfromhell and render the node tree ourselves instead of calling ``strip_code``, because
``strip_code`` keeps the captions of ``[[File:...]]`` links and the names of categories and
interlanguage links as text, and knows only English namespace names. Here:

- links become their anchor text; File/Image/Media links (and their localized names in the 20
  LLaMA languages, plus whatever the dump's siteinfo declares), categories and interlanguage
  links disappear;
- templates, template arguments, comments, ``<ref>``, tables, galleries and other non-prose
  extension tags are removed; other HTML-like tags keep their contents;
- magic words (``__TOC__``, ``__БЕЗ_ЗМІСТУ__``) are removed;
- headings stay as plain lines; a section whose body renders empty (a "References" heading
  whose ``<references/>`` was removed) is dropped with its heading, unless it is the parent of
  a non-empty subsection; sections are joined by a blank line.

``<ref>`` URLs (the ``url=`` of cite templates and bare links inside the ref) are collected
for the CommonCrawl reference classifier, which learns what pages Wikipedia cites.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import mwparserfromhell
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)

#: Names and aliases of the File (6), Media (-2) and Category (14) namespaces per language
#: (the 20 LLaMA languages and a few more), from MediaWiki's Messages*.php; see the data file.
NAMESPACE_ALIASES_FILE = Path(__file__).parent / "data" / "wiki_namespace_aliases.json"


def namespace_key(name: str) -> str:
    """How MediaWiki compares namespace prefixes: case-insensitive, ``_`` as space."""
    return " ".join(name.replace("_", " ").split()).casefold()


def _load_aliases(kinds: tuple[str, ...]) -> frozenset[str]:
    table = json.loads(NAMESPACE_ALIASES_FILE.read_text(encoding="utf-8"))
    return frozenset(
        namespace_key(name)
        for language, entry in table.items()
        if not language.startswith("_")
        for kind in kinds
        for name in entry.get(kind, [])
    )


#: File and Media prefixes of every language in the table: a dump may link with another
#: wiki's name (articles copied across wikis keep ``[[Image:...]]``), so all are dropped.
FILE_NAMESPACE_ALIASES: frozenset[str] = _load_aliases(("file", "media"))
#: Category prefixes of every language in the table.
CATEGORY_NAMESPACE_ALIASES: frozenset[str] = _load_aliases(("category",))

#: Extension and HTML tags whose contents are not article prose.
DROPPED_TAGS: frozenset[str] = frozenset(
    {
        "ref", "references", "table", "gallery", "imagemap", "timeline", "graph", "mapframe",
        "maplink", "templatedata", "templatestyles", "score", "categorytree", "inputbox",
        "section", "noinclude", "includeonly", "onlyinclude", "syntaxhighlight", "source",
        "math", "chem", "ce", "hiero", "charinsert", "indicator", "style", "script",
    }
)  # fmt: skip

#: Tags that end a line when rendered.
_LINE_BREAK_TAGS = frozenset({"br", "p", "div", "li", "dt", "dd", "tr", "blockquote", "poem"})

_MAGIC_WORD_RE = re.compile(r"__[^\W_]+(?:_[^\W_]+)*__")
#: An interlanguage link prefix: ``de``, ``zh-yue``, ``simple``, ``be-tarask`` (lowercase).
_INTERLANGUAGE_RE = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z]+)*|simple)$")
_REDIRECT_RE = re.compile(r"^\s*#\s*[^\W\d_][\w-]*\s*:?\s*\[\[", re.UNICODE)
_URL_RE = re.compile(r"https?://[^\s\]\[|{}<>\"']+")
#: ``https://web.archive.org/web/20210507011049/https://site/page`` -> the archived page.
_ARCHIVE_RE = re.compile(r"^https?://(?:web\.)?archive\.org/web/[0-9a-z_*]+/(https?://.+)$")
_SPACES_RE = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
#: Punctuation left dangling after a removed template or ref: "( )", "(, )", " ,".
_EMPTY_PARENS_RE = re.compile(r"\(\s*[,;]?\s*\)")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +([,.;:!?])")
_REF_RE = re.compile(r"<ref\b[^>]*?(?:/>|>(.*?)</ref\s*>)", re.IGNORECASE | re.DOTALL)
_LEFTOVER_REF_OPEN_RE = re.compile(r"</?ref\b[^>]*>", re.IGNORECASE)
_LEFTOVER_TAG_RE = re.compile(
    r"</?(?:references|gallery|small|big|center|span|div|font|sup|sub|blockquote|poem|table|tr|td"
    r"|th|caption|tbody|thead|br|p|b|i|u|s|em|strong|code|tt|abbr|cite|q|del|ins|nowiki|li|ul|ol"
    r"|dl|dt|dd|hr|pre|var|kbd|samp)\b[^<>]*>",
    re.IGNORECASE,
)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_INNER_TEMPLATE_RE = re.compile(r"\{\{[^{}]*\}\}", re.DOTALL)
_LEFTOVER_LINK_RE = re.compile(r"\[\[([^\[\]]*)\]\]")


@dataclass(slots=True)
class CleanedArticle:
    """The plain text of a page and the URLs its ``<ref>`` tags cite."""

    text: str
    ref_urls: list[str] = field(default_factory=list)


def is_redirect_text(wikitext: str) -> bool:
    """``#REDIRECT [[X]]`` and its localized forms (``#WEITERLEITUNG``, ``#ПЕРЕНАПРАВЛЕННЯ``).

    Any ``#<word> [[`` at the very start of a page is a redirect: no article starts with a
    numbered list item whose first token is a link with no space before it.
    """
    return bool(_REDIRECT_RE.match(wikitext[:200]))


class WikitextCleaner:
    """Renders wikitext to text; one instance per dump so siteinfo namespace names are known."""

    def __init__(
        self,
        extra_file_namespaces: Iterable[str] = (),
        extra_category_namespaces: Iterable[str] = (),
    ) -> None:
        self.file_prefixes = FILE_NAMESPACE_ALIASES | {
            namespace_key(n) for n in extra_file_namespaces if n.strip()
        }
        self.category_prefixes = CATEGORY_NAMESPACE_ALIASES | {
            namespace_key(n) for n in extra_category_namespaces if n.strip()
        }

    @classmethod
    def for_namespaces(cls, namespaces: dict[int, str]) -> WikitextCleaner:
        """A cleaner that also knows the dump's own names for File (6), Media (-2), Category."""
        files = [namespaces.get(6, ""), namespaces.get(-2, "")]
        return cls(extra_file_namespaces=files, extra_category_namespaces=[namespaces.get(14, "")])

    def clean(self, wikitext: str) -> CleanedArticle:
        code = mwparserfromhell.parse(wikitext)
        urls = collect_ref_urls(wikitext)
        sections: list[str] = []
        # Headings of sections with no text of their own ("History" directly followed by
        # "=== Origins ==="), emitted only if a deeper section below them has text.
        pending: list[tuple[int, str]] = []
        for section in _split_sections(code.nodes):
            level, heading, body = self._render_section(section)
            pending = [(lvl, h) for lvl, h in pending if lvl < level]
            if not body:
                if heading:
                    pending.append((level, heading))
                continue
            parents = [h for _lvl, h in pending]
            pending = []
            block = "\n\n".join([*parents, f"{heading}\n{body}" if heading else body])
            sections.append(block)
        return CleanedArticle(text="\n\n".join(sections), ref_urls=urls)

    def _render_section(self, nodes: list[object]) -> tuple[int, str, str]:
        """(heading level, heading text, body text); level 0 and no heading for the lead."""
        heading = ""
        level = 0
        if nodes and isinstance(nodes[0], Heading):
            level = nodes[0].level
            heading = self._render(nodes[0].title.nodes)
            heading = _tidy(scrub_unparsed_markup(heading)).replace("\n", " ").strip()
            nodes = nodes[1:]
        body = _tidy(scrub_unparsed_markup(self._render(nodes)))
        return level, heading, body

    def _render(self, nodes: Iterable[object]) -> str:
        parts: list[str] = []
        for node in nodes:
            if isinstance(node, Text):
                parts.append(node.value)
            elif isinstance(node, Wikilink):
                parts.append(self._render_wikilink(node))
            elif isinstance(node, Tag):
                parts.append(self._render_tag(node))
            elif isinstance(node, ExternalLink):
                # Bracketed links keep their label; a bare URL is a hyperlink and goes.
                if node.brackets and node.title is not None:
                    parts.append(self._render(node.title.nodes))
            elif isinstance(node, HTMLEntity):
                parts.append(node.normalize())
            elif isinstance(node, Heading):
                parts.append("\n" + self._render(node.title.nodes).strip() + "\n")
            elif isinstance(node, Template | Comment | Argument):
                continue
        return "".join(parts)

    def _render_wikilink(self, link: Wikilink) -> str:
        # A comment inside the target (``[[<!-- x -->File:a.jpg|thumb|...]]``) is not part of
        # it: MediaWiki drops comments before it reads links.
        title = _COMMENT_RE.sub("", str(link.title)).strip()
        leading_colon = title.startswith(":")
        target = title.lstrip(":").strip()
        prefix, sep, _rest = target.partition(":")
        if sep:
            key = namespace_key(prefix)
            if key in self.file_prefixes:
                return ""  # an image with a caption, even when written [[:File:x]]
            if key in self.category_prefixes:
                return ""  # category tags, and [[:Category:X]] "see also" links to them
            if not leading_colon and _INTERLANGUAGE_RE.match(prefix.strip()):
                return ""
        if link.text is not None:
            return self._render(link.text.nodes)
        return target

    def _render_tag(self, tag: Tag) -> str:
        name = str(tag.tag).strip().lower()
        if name in DROPPED_TAGS:
            return ""
        if name in {"li", "dt", "dd"} and tag.wiki_markup:
            return ""  # a wiki list bullet at a line start: the item text follows as siblings
        if name == "hr":
            return "\n"
        if tag.self_closing or tag.contents is None:
            return "\n" if name in _LINE_BREAK_TAGS else ""
        inner = self._render(tag.contents.nodes)
        if name in _LINE_BREAK_TAGS:
            return "\n" + inner + "\n"
        return inner


def _split_sections(nodes: list[object]) -> list[list[object]]:
    """Top-level nodes cut before each heading: the lead, then one list per section.

    Same result as ``get_sections(flat=True, include_lead=True)`` for page wikitext (headings
    are top-level nodes there), without re-walking the tree once per section.
    """
    sections: list[list[object]] = [[]]
    for node in nodes:
        if isinstance(node, Heading):
            sections.append([node])
        else:
            sections[-1].append(node)
    return sections


def scrub_unparsed_markup(text: str) -> str:
    """Remove markup mwparserfromhell left as plain text.

    On malformed input (an unclosed tag or table somewhere on the page) the parser gives up on
    a region and returns it as text, so ``<ref>``, ``{{...}}``, ``{| ... |}`` tables and
    ``[[...]]`` links can survive rendering.
    """
    if "<" in text:
        text = _REF_RE.sub("", text)
        text = _LEFTOVER_REF_OPEN_RE.sub("", text)
        text = _LEFTOVER_TAG_RE.sub("", text)
    if "{|" in text:
        text = _drop_table_lines(text)
    while "{{" in text:
        reduced = _INNER_TEMPLATE_RE.sub("", text)
        if reduced == text:
            break
        text = reduced
    if "[[" in text:
        text = _LEFTOVER_LINK_RE.sub(_leftover_link_text, text)
    for token in ("{{", "}}", "[[", "]]", "{|", "|}"):
        text = text.replace(token, "")
    return text


def _drop_table_lines(text: str) -> str:
    """Drop ``{| ... |}`` line blocks (nested tables included) left as text."""
    out: list[str] = []
    depth = 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("{|"):
            depth += 1
            continue
        if depth:
            if stripped.startswith("|}"):
                depth -= 1
            continue
        out.append(line)
    return "\n".join(out)


def _leftover_link_text(match: re.Match[str]) -> str:
    target, _, label = _COMMENT_RE.sub("", match.group(1)).partition("|")
    prefix, sep, _ = target.lstrip(":").partition(":")
    key = namespace_key(prefix)
    if sep and (key in FILE_NAMESPACE_ALIASES or key in CATEGORY_NAMESPACE_ALIASES):
        return ""
    return (label or target).strip()


def _normalize_ref_url(url: str) -> str:
    url = url.rstrip(".,;")
    archived = _ARCHIVE_RE.match(url)
    return archived.group(1) if archived else url


def _ref_text_urls(ref_text: str) -> list[str]:
    urls = []
    for match in _URL_RE.finditer(ref_text):
        before = ref_text[max(0, match.start() - 16) : match.start()].lower()
        if "archive" in before:
            continue
        urls.append(_normalize_ref_url(match.group(0)))
    return urls


def _tidy(text: str) -> str:
    """Normalise spacing left behind by removed nodes; keep paragraph breaks."""
    text = _MAGIC_WORD_RE.sub("", text)
    text = _EMPTY_PARENS_RE.sub("", text)
    lines = []
    for line in text.split("\n"):
        line = _SPACES_RE.sub(" ", line).strip()
        line = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", line)
        lines.append(line)
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def collect_ref_urls(wikitext: str) -> list[str]:
    """URLs cited in the page's ``<ref>`` tags, in order, without duplicates.

    Read from the raw wikitext with regexes rather than from the parse tree: refs sit inside
    templates (infobox values), inside regions the parser gave up on, everywhere, and a tree
    walk for them cost a fifth of the cleaning time. Within a ref, every http(s) URL counts
    (``url=``, ``chapter-url=``, bare and bracketed links) except ``archive-url`` values, and a
    Wayback Machine URL is replaced by the page it archived: the reference classifier should
    learn what cited pages look like, not the archive.
    """
    if "<ref" not in wikitext and "<REF" not in wikitext:
        return []
    text = _COMMENT_RE.sub("", wikitext)
    urls: dict[str, None] = {}
    for match in _REF_RE.finditer(text):
        for url in _ref_text_urls(match.group(1) or ""):
            urls.setdefault(url, None)
    return list(urls)


def clean_wikitext(wikitext: str) -> CleanedArticle:
    """Clean one page with the built-in namespace aliases only (no siteinfo)."""
    return WikitextCleaner().clean(wikitext)
