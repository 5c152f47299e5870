"""LaTeX cleaning for the ArXiv source (paper section 2.1 and RECIPE.md).

The paper keeps the body of each paper: everything before the first sectioning command and
from the bibliography on is removed, comments are removed and user macros are expanded inline.
We also cut at ``\\appendix`` (RedPajama does), keep escaped ``\\%``, leave verbatim-like
environments untouched, and expand macros with arguments (``#1``..``#9``, and the optional first
argument of ``\\newcommand`` with its default) because papers define most of their notation that
way.

Order matters and is: strip comments in every file (a commented-out ``\\input`` must not be
followed), pick the main file, inline ``\\input``/``\\include``, collect and remove the macro
definitions (they live in the preamble), keep the document body, expand macros, then cut from the
first section to the appendix/bibliography.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# ---------------------------------------------------------------------------------------------
# Comments
# ---------------------------------------------------------------------------------------------

#: Environments whose content is literal: ``%`` inside them is text, not a comment.
VERBATIM_ENVS = ("verbatim", "verbatim*", "lstlisting", "minted", "Verbatim", "alltt")
_BEGIN_VERBATIM = re.compile(r"\\begin\{(" + "|".join(re.escape(e) for e in VERBATIM_ENVS) + r")\}")
_BEGIN_COMMENT_ENV = re.compile(r"^\s*\\begin\{comment\}")
_END_COMMENT_ENV = re.compile(r"^\s*\\end\{comment\}")
_VERB = re.compile(r"\\verb\*?(.)")


def _comment_start(line: str) -> int:
    """Index of the first unescaped % of a line (outside \\verb), or -1."""
    if "%" not in line:
        return -1  # most lines: no scan needed
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == "\\":
            m = _VERB.match(line, i)
            if m and not m.group(1).isalpha():
                end = line.find(m.group(1), m.end())
                i = n if end < 0 else end + 1
                continue
            i += 2  # skip the escaped character, which covers \% and \\
            continue
        if ch == "%":
            return i
        i += 1
    return -1


def strip_comments(text: str) -> str:
    """Remove whole-line and inline ``%`` comments and ``comment`` environments; keep ``\\%``.

    A whole-line comment disappears with its line (leaving no blank line, which LaTeX would
    not see either, so paragraphs are not split). Verbatim-like environments are kept as is.
    """
    out: list[str] = []
    verbatim_end: str | None = None
    in_comment_env = False
    for line in text.split("\n"):
        if verbatim_end is not None:
            out.append(line)
            if verbatim_end in line:
                verbatim_end = None
            continue
        if in_comment_env:
            if _END_COMMENT_ENV.match(line):
                in_comment_env = False
            continue
        if _BEGIN_COMMENT_ENV.match(line):
            in_comment_env = True
            continue
        cut = _comment_start(line)
        code = line if cut < 0 else line[:cut]
        m = _BEGIN_VERBATIM.search(code)
        if m:
            # From \begin{verbatim} on the line is literal; keep it whole.
            code = line
            if f"\\end{{{m.group(1)}}}" not in line[m.end() :]:
                verbatim_end = f"\\end{{{m.group(1)}}}"
        if cut >= 0 and not code.strip():
            continue
        out.append(code.rstrip() if cut >= 0 else code)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Balanced groups
# ---------------------------------------------------------------------------------------------


def _skip_space(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n":
        i += 1
    return i


def read_group(
    text: str, i: int, open_ch: str = "{", close_ch: str = "}"
) -> tuple[str, int] | None:
    """The content of the balanced group opening at ``text[i]`` and the index after it."""
    if i >= len(text) or text[i] != open_ch:
        return None
    depth = 0
    j = i
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        j += 1
    return None


_CS = re.compile(r"\\(?:[A-Za-z@]+|.)", re.DOTALL)


def read_argument(text: str, i: int) -> tuple[str, int] | None:
    """One undelimited TeX argument at i (spaces skipped): a {group}, a control sequence or a
    single character."""
    i = _skip_space(text, i)
    if i >= len(text):
        return None
    if text[i] == "{":
        return read_group(text, i)
    if text[i] == "}":
        return None
    m = _CS.match(text, i)
    if m:
        return m.group(0), m.end()
    return text[i], i + 1


# ---------------------------------------------------------------------------------------------
# Macros
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Macro:
    """A user macro: its body with #1..#9 parameters, and the default of an optional #1."""

    name: str
    nargs: int
    body: str
    default: str | None = None


_NEWCOMMAND = re.compile(r"\\(?:re)?newcommand\*?|\\providecommand\*?|\\DeclareRobustCommand\*?")
_DEF = re.compile(r"\\(?:[gex]?def)(?![A-Za-z@])")
_MATHOP = re.compile(r"\\DeclareMathOperator(\*?)")
_MACRO_NAME = re.compile(r"\\([A-Za-z@]+|[^A-Za-z@\s])")


def _parse_newcommand(text: str, i: int) -> tuple[Macro, int] | None:
    j = _skip_space(text, i)
    if j < len(text) and text[j] == "{":
        got = read_group(text, j)
        if got is None:
            return None
        name_src, j = got
        m = _MACRO_NAME.fullmatch(name_src.strip())
    else:
        m = _MACRO_NAME.match(text, j)
        if m:
            j = m.end()
    if not m:
        return None
    name = m.group(1)
    nargs, default = 0, None
    j2 = _skip_space(text, j)
    if j2 < len(text) and text[j2] == "[":
        got = read_group(text, j2, "[", "]")
        if got is None or not got[0].strip().isdigit():
            return None
        nargs, j = int(got[0].strip()), got[1]
        j2 = _skip_space(text, j)
        if j2 < len(text) and text[j2] == "[":
            got = read_group(text, j2, "[", "]")
            if got is None:
                return None
            default, j = got
    j = _skip_space(text, j)
    body = read_group(text, j)
    if body is None or not 0 <= nargs <= 9:
        return None
    return Macro(name, nargs, body[0], default), body[1]


def _parse_def(text: str, i: int) -> tuple[Macro, int] | None:
    m = _MACRO_NAME.match(text, _skip_space(text, i))
    if not m:
        return None
    j = m.end()
    params = re.match(r"(?:#[1-9])*", text[j:])
    spec = params.group(0) if params else ""
    j += len(spec)
    if spec != "".join(f"#{k}" for k in range(1, len(spec) // 2 + 1)):
        return None
    body = read_group(text, j)
    if body is None:
        return None  # delimited parameters (\def\a#1.{...}) are not expanded
    return Macro(m.group(1), len(spec) // 2, body[0]), body[1]


def _parse_mathop(text: str, i: int, star: bool) -> tuple[Macro, int] | None:
    name = read_group(text, _skip_space(text, i))
    if name is None:
        return None
    m = _MACRO_NAME.fullmatch(name[0].strip())
    body = read_group(text, _skip_space(text, name[1]))
    if not m or body is None:
        return None
    op = "\\operatorname*" if star else "\\operatorname"
    return Macro(m.group(1), 0, f"{op}{{{body[0]}}}"), body[1]


def extract_macros(text: str) -> tuple[dict[str, Macro], str]:
    """Collect \\newcommand/\\renewcommand/\\providecommand/\\def/\\DeclareMathOperator
    definitions and return them with the text minus the definitions.

    A later definition of a name wins (\\renewcommand). A definition that cannot be parsed is
    left in the text untouched.
    """
    macros: dict[str, Macro] = {}
    pieces: list[str] = []
    pos = 0
    pattern = re.compile(f"{_NEWCOMMAND.pattern}|{_DEF.pattern}|{_MATHOP.pattern}")
    for m in pattern.finditer(text):
        if m.start() < pos:
            continue
        token = m.group(0)
        if token.startswith("\\DeclareMathOperator"):
            parsed = _parse_mathop(text, m.end(), token.endswith("*"))
        elif re.match(r"\\[gex]?def$", token):
            parsed = _parse_def(text, m.end())
        else:
            parsed = _parse_newcommand(text, m.end())
        if parsed is None:
            continue
        macro, end = parsed
        if macro.name in ("@",) or macro.name.startswith("@"):
            continue  # internals, never used in running text
        macros[macro.name] = macro
        pieces.append(text[pos : m.start()])
        pos = end
    pieces.append(text[pos:])
    return macros, "".join(pieces)


_PARAM = re.compile(r"##|#([1-9])")


def _substitute(body: str, args: list[str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "##":
            return "#"
        k = int(m.group(1))
        return args[k - 1] if k <= len(args) else m.group(0)

    return _PARAM.sub(repl, body)


def expand_macros(
    text: str, macros: dict[str, Macro], max_passes: int = 8, max_growth: float = 4.0
) -> str:
    """Expand user macros in place, repeating for macros used in macro bodies.

    Stops after ``max_passes`` (a recursive definition never terminates) or when the text
    would grow beyond ``max_growth`` times its size (an exponential macro is a bomb too).
    """
    if not macros:
        return text
    letters = sorted((n for n in macros if re.fullmatch(r"[A-Za-z@]+", n)), key=len, reverse=True)
    others = [n for n in macros if n not in letters]
    alts = []
    if letters:
        alts.append("(?:" + "|".join(map(re.escape, letters)) + r")(?![A-Za-z@])")
    if others:
        alts.append("(?:" + "|".join(map(re.escape, others)) + ")")
    pattern = re.compile(r"\\(" + "|".join(alts) + ")")
    limit = int(len(text) * max_growth) + 10000
    for _ in range(max_passes):
        pieces: list[str] = []
        pos = 0
        changed = False
        for m in pattern.finditer(text):
            if m.start() < pos or (m.start() > 0 and _odd_backslashes_before(text, m.start())):
                continue
            macro = macros[m.group(1)]
            j = m.end()
            args: list[str] = []
            ok = True
            if macro.default is not None:
                k = _skip_space(text, j)
                got = read_group(text, k, "[", "]") if k < len(text) and text[k] == "[" else None
                if got is not None:
                    args.append(got[0])
                    j = got[1]
                else:
                    args.append(macro.default)
            while len(args) < macro.nargs:
                got = read_argument(text, j)
                if got is None:
                    ok = False
                    break
                args.append(got[0])
                j = got[1]
            if not ok:
                continue
            body = _substitute(macro.body, args)
            pieces.append(text[pos : m.start()])
            pieces.append(body)
            pos = j
            changed = True
        if not changed:
            break
        pieces.append(text[pos:])
        new_text = "".join(pieces)
        if len(new_text) > limit:
            break
        text = new_text
    return text


def _odd_backslashes_before(text: str, i: int) -> bool:
    k = i - 1
    count = 0
    while k >= 0 and text[k] == "\\":
        count += 1
        k -= 1
    return count % 2 == 1


# ---------------------------------------------------------------------------------------------
# Files: main file and \input / \include
# ---------------------------------------------------------------------------------------------

_DOCUMENTCLASS = re.compile(r"\\document(?:class|style)\b")
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")
_END_DOCUMENT = re.compile(r"\\end\s*\{document\}")
_INPUT = re.compile(r"\\(?:input|include|subfile)\s*\{([^{}]*)\}|\\input\s+([^\s{}\\%]+)")


def _input_names(text: str) -> set[str]:
    return {(m.group(1) or m.group(2) or "").strip() for m in _INPUT.finditer(text)}


def find_main_file(files: dict[str, str], members: list[str] | None = None) -> str | None:
    """The main .tex file: it has \\documentclass (or 2.09's \\documentstyle) and
    \\begin{document}.

    Among several (drafts, old versions), prefer one no other file inputs, then one whose
    compiled .bbl arXiv kept alongside, then the largest, then the name.
    """
    candidates = [
        name
        for name, text in files.items()
        if _DOCUMENTCLASS.search(text) and _BEGIN_DOCUMENT.search(text)
    ]
    if not candidates:
        tex = [n for n in files if n.lower().endswith(".tex")]
        return tex[0] if len(tex) == 1 and _BEGIN_DOCUMENT.search(files[tex[0]]) else None
    included = set()
    for text in files.values():
        for ref in _input_names(text):
            included.add(_normalize_ref(ref))
    names = set(members or files)

    def rank(name: str) -> tuple[int, int, int, str]:
        stem = name.rsplit(".", 1)[0]
        return (
            int(stem in included or name in included),
            int(f"{stem}.bbl" not in names),
            -len(files[name]),
            name,
        )

    return min(candidates, key=rank)


def _normalize_ref(ref: str) -> str:
    parts = [p for p in PurePosixPath(ref.strip().strip('"')).parts if p not in ("", ".")]
    return "/".join(parts)


def _lookup(ref: str, base_dir: str, files: dict[str, str]) -> str | None:
    ref = ref.strip().strip('"')
    if not ref or ref.startswith("/") or ".." in PurePosixPath(ref).parts:
        return None
    norm = _normalize_ref(ref)
    for candidate in (norm, f"{norm}.tex"):
        for prefix in (f"{base_dir}/" if base_dir else "", ""):
            key = _normalize_ref(prefix + candidate)
            if key in files:
                return key
    return None


def resolve_inputs(main: str, files: dict[str, str], max_depth: int = 16) -> str:
    """The main file with \\input/\\include/\\subfile of the paper's own files inlined.

    Paths resolve relative to the main file's folder (LaTeX's rule) and the archive root; a
    missing file (a figure, a generated .bbl) or one outside the paper drops the command; a
    cycle or nesting deeper than ``max_depth`` stops inlining.
    """
    base_dir = str(PurePosixPath(main).parent).removeprefix(".")

    def inline(text: str, stack: tuple[str, ...]) -> str:
        def repl(m: re.Match[str]) -> str:
            key = _lookup(m.group(1) or m.group(2) or "", base_dir, files)
            if key is None or key in stack or len(stack) >= max_depth:
                return ""
            return inline(files[key], (*stack, key)) + "\n"

        return _INPUT.sub(repl, text)

    return inline(files[main], (main,))


# ---------------------------------------------------------------------------------------------
# Body cut
# ---------------------------------------------------------------------------------------------

SECTION = re.compile(
    r"\\(?:chapter|part|section|subsection|subsubsection|paragraph)\*?\s*(?:\[[^\]]*\]\s*)?\{"
)
END_OF_BODY = re.compile(
    r"\\appendix(?![A-Za-z@])|\\begin\s*\{thebibliography\}|\\bibliography\s*\{|"
    r"\\begin\s*\{references\}|\\printbibliography(?![A-Za-z@])|\\end\s*\{document\}"
)
_BIBSTYLE = re.compile(r"\\bibliographystyle\s*\{[^{}]*\}")


def cut_body(text: str) -> str | None:
    """From the first sectioning command to the appendix/bibliography; None without a section."""
    start = SECTION.search(text)
    if start is None:
        return None
    end = END_OF_BODY.search(text, start.start())
    body = text[start.start() : end.start() if end else len(text)]
    body = _BIBSTYLE.sub("", body)
    return re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"


@dataclass(frozen=True)
class CleanedPaper:
    text: str | None
    reason: str | None  # the removal reason when text is None
    main: str | None = None
    macros: int = 0


def clean_paper(files: dict[str, str], members: list[str] | None = None) -> CleanedPaper:
    """A paper's decoded .tex files -> the cleaned body text (or why there is none)."""
    stripped = {name: strip_comments(text) for name, text in files.items()}
    main = find_main_file(stripped, members)
    if main is None:
        return CleanedPaper(None, "no_main_file")
    full = resolve_inputs(main, stripped)
    macros, full = extract_macros(full)
    begin = _BEGIN_DOCUMENT.search(full)
    if begin is not None:
        full = full[begin.end() :]
    end = _END_DOCUMENT.search(full)
    if end is not None:
        full = full[: end.start()]
    full = expand_macros(full, macros)
    body = cut_body(full)
    if body is None:
        return CleanedPaper(None, "no_section", main, len(macros))
    return CleanedPaper(body, None, main, len(macros))
