"""Small HTML fragments (StackExchange post bodies, ...) -> readable plain text.

Built on the stdlib HTMLParser, which never fails on broken markup (unclosed tags, stray ``<``),
so one bad post cannot crash a site. What is kept is what a reader of the page would see and
what a code model learns from:

- block elements (p, div, headings, blockquote, tables rows) become paragraphs separated by a
  blank line; ``<br>`` is a line break;
- list items become ``- item`` lines (``1. item`` in ordered lists), nested lists indented by two
  spaces per level;
- ``<pre>`` blocks are copied verbatim, whitespace and all (code indentation is meaning);
  inline ``<code>`` keeps its text as is;
- ``<img>`` gives its alt text, if any; scripts and styles are dropped; entities are decoded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {
        "p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol",
        "dl", "section", "article", "header", "footer", "figure", "figcaption", "hr", "details",
        "summary",
    }
)  # fmt: skip
_DROPPED_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_VOID_TAGS = frozenset({"br", "img", "hr", "input", "meta", "link", "wbr", "col", "area", "source"})
_SPACES_RE = re.compile(r"[ \t\r\f\v\u00a0]+")
_PRE_MARK = "\x00"  # brackets verbatim text inside the buffer until the final tidy pass


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre_depth = 0
        self.drop_depth = 0
        self.lists: list[list[int | str]] = []  # [kind, counter] per open list

    # --- tags ---------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_TAGS:
            self.drop_depth += 1
            return
        if self.drop_depth:
            return
        if tag == "pre":
            self._paragraph()
            self.parts.append(_PRE_MARK)
            self.pre_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("ul", "ol"):
            if not self.lists:
                self._paragraph()
            self.lists.append([tag, 0])
        elif tag == "li":
            self._line()
            depth = max(len(self.lists) - 1, 0)
            marker = "- "
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] = int(self.lists[-1][1]) + 1
                marker = f"{self.lists[-1][1]}. "
            self.parts.append("  " * depth + marker)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCK_TAGS:
            self._paragraph()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_TAGS:
            self.drop_depth = max(self.drop_depth - 1, 0)
            return
        if self.drop_depth:
            return
        if tag == "pre":
            if self.pre_depth:
                self.pre_depth -= 1
                self.parts.append(_PRE_MARK)
                self._paragraph()
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._paragraph()
            else:
                self._line()
        elif tag == "li":
            self._line()
        elif tag in _BLOCK_TAGS:
            self._paragraph()

    def handle_data(self, data: str) -> None:
        if self.drop_depth:
            return
        if self.pre_depth:
            self.parts.append(data.replace(_PRE_MARK, ""))
        else:
            self.parts.append(_SPACES_RE.sub(" ", data.replace("\n", " ")))

    # --- structure ----------------------------------------------------------------------
    def _line(self) -> None:
        """End the current line unless it is already ended (list items, nested lists)."""
        for part in reversed(self.parts):
            if part.strip(" "):
                if not part.endswith("\n"):
                    self.parts.append("\n")
                return

    def _paragraph(self) -> None:
        self.parts.append("\n\n")


def html_to_text(html: str) -> str:
    """Convert an HTML fragment to text (see the module docstring for what is kept)."""
    if "<" not in html and "&" not in html:
        return html.strip()
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    return _tidy("".join(builder.parts))


def _tidy(raw: str) -> str:
    """Strip spaces around lines and collapse blank lines, except inside verbatim blocks."""
    blocks: list[str] = []
    for i, chunk in enumerate(raw.split(_PRE_MARK)):
        if i % 2 == 1:  # verbatim <pre> content: only the surrounding newlines go
            code = chunk.strip("\n").rstrip()
            if code:
                blocks.append(code)
            continue
        lines = [_rstrip_keep_indent(line) for line in chunk.split("\n")]
        prose = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        if prose:
            blocks.append(prose)
    return "\n\n".join(blocks)


def _rstrip_keep_indent(line: str) -> str:
    """Trim a prose line; keep the two-space indentation of nested list items."""
    stripped = line.strip(" ")
    if stripped.startswith(("- ",)) or (stripped[:1].isdigit() and ". " in stripped[:6]):
        indent = len(line) - len(line.lstrip(" "))
        return " " * (indent - indent % 2) + stripped
    return stripped
