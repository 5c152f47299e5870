"""arXiv-style LaTeX sources: per-paper gzipped tarballs, one bare gzipped .tex, one paper with no
\\section (which a RedPajama-style cleaner skips).

Tarballs hold main.tex (preamble with \\newcommand with and without arguments, \\def,
\\renewcommand; abstract; sections; whole-line and inline % comments; a literal \\%; \\input of a
section file; \\appendix; thebibliography or \\bibliography{refs}), an unused draft .tex and a
macOS AppleDouble `._main.tex` junk member.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from .common import SEED, gzip_bytes, rng_for, write_bytes
from .compose import Composer

MTIME = 4102444800  # 2100-01-01: fixed so tarballs are byte-identical on every run

ACADEMIC = [
    "We study how {method} behaves when the data are {adj} and the sample size $n$ is small.",
    "Let $x \\in \\R^{{d}}$ be an observation and let $\\norm{{x}} \\le \\eps$ denote its bounded noise.",
    "Our main result shows that the error decreases as $O(n^{{-1/2}})$ under mild assumptions.",
    "Compared with the baseline, {method} reduces the error by {num}\\% on the held-out set.",
    "The inner product $\\pair{{\\vec{{u}}}}{{\\vec{{v}}}}$ is computed once per iteration and cached.",
    "Table~\\ref{{tab:main}} summarises the results over {num} independent runs.",
    "We collected measurements at {place} over {num} nights, following the protocol of \\cite{{{cite}}}.",
    "The estimator is unbiased, and its variance is at most $\\sigma^2 / n$ (see Appendix~\\ref{{app:proof}}).",
    "In practice, {method} converges within {num} iterations on every data set we tried.",
    "A limitation of this approach is that it assumes the observations are independent.",
    "We release the code and the processed records so that the figures can be reproduced exactly.",
    "Previous work \\cite{{{cite}}} relied on hand-tuned thresholds; we learn them from data instead.",
    "Equation~\\eqref{{eq:update}} gives the update rule used throughout the paper.",
    "The measurements from {place} were {verb_past} independently by {person}.",
    "Figure~\\ref{{fig:overview}} shows the pipeline from raw records to the final estimate.",
    "We split the records by year, using everything before {year} for fitting and the rest for evaluation.",
    "Missing values are rare (fewer than {num} in total) and are dropped rather than imputed.",
    "The step size $\\eta$ is chosen on a small validation set and then kept fixed.",
    "For every configuration we report the mean and the standard deviation over seeds.",
    "Surprisingly, the simplest baseline is competitive when fewer than {num} records are available.",
    "The bound in Section~\\ref{{sec:method}} is loose by roughly a factor of two in practice.",
    "We thank {person} for access to the archive at {place} and for many helpful comments.",
    "Each record consists of a timestamp, a location and a short free-text note.",
    "Ablations show that removing the second stage increases the error by {num}\\%.",
    "Our implementation runs on a single laptop and processes a year of records in minutes.",
    "All thresholds were fixed before looking at the test data.",
    "The same trend appears in every region except the coastal one, where records are sparse.",
    "We leave the extension to dependent observations for future work.",
]
METHODS = ["adaptive smoothing", "the two-stage estimator", "robust averaging", "sparse regression",
           "the windowed filter", "iterative refinement", "the ranking heuristic", "local reweighting"]
CITES = ["smith2001", "ortega2010", "lindqvist2015", "haldane1998", "mbeki2012", "tanaka2007"]


class _Slots(dict):
    """str.format_map mapping that fills unknown slots from the composer (so {{ }} escapes work)."""

    def __init__(self, c: Composer) -> None:
        super().__init__(method=c.rng.choice(METHODS), cite=c.rng.choice(CITES))
        self.c = c

    def __missing__(self, key: str) -> str:
        return self.c.slot(key, "history", {})


_POOL: list[str] = []


def _sentence(c: Composer) -> str:
    """Templates are drawn without replacement (refilled when empty) to avoid repeats."""
    if not _POOL:
        _POOL.extend(ACADEMIC)
        c.rng.shuffle(_POOL)
    return _POOL.pop().format_map(_Slots(c))


def _para(c: Composer, lo: int = 3, hi: int = 6) -> str:
    return " ".join(_sentence(c) for _ in range(c.rng.randint(lo, hi)))


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
% ------------------------------------------------------------------
% Macros used throughout the paper
% ------------------------------------------------------------------
\newcommand{\R}{\mathbb{R}}
\newcommand{\norm}[1]{\left\lVert #1 \right\rVert}
\newcommand{\pair}[2]{\langle #1, #2 \rangle}
\def\eps{\varepsilon}
\renewcommand{\vec}[1]{\mathbf{#1}}
\newcommand{\method}{\textsc{@METHOD@}}
"""


def _section_body(c: Composer, n_paras: int) -> str:
    out = []
    for _ in range(n_paras):
        p = _para(c)
        if c.rng.random() < 0.3:
            p += " % TODO: check this number again"
        out.append(p)
        if c.rng.random() < 0.25:
            out.append("% This paragraph was moved from the old introduction.")
        if c.rng.random() < 0.2:
            out.append("\\begin{equation}\\label{eq:update}\n"
                       "  \\theta_{t+1} = \\theta_t - \\eta \\nabla L(\\theta_t) + \\eps\n\\end{equation}")
    return "\n\n".join(out)


def _bibliography(c: Composer) -> str:
    items = "\n".join(f"\\bibitem{{{k}}} {c.person()}. {c.title(c.topic(), c.anchor(''))}. "
                      f"Journal of Applied Notes, {c.year()}." for k in CITES)
    return f"\\begin{{thebibliography}}{{9}}\n{items}\n\\end{{thebibliography}}"


def _bibtex(c: Composer) -> str:
    return "\n".join(f"@article{{{k},\n  author = {{{c.person()}}},\n  title = {{{c.title(c.topic(), c.anchor(''))}}},\n"
                     f"  year = {{{c.year()}}}\n}}\n" for k in CITES)


def _main_tex(c: Composer, inputs: list[str], bib: str, with_sections: bool = True,
              appendix: bool = True) -> str:
    title = c.title(c.topic(), c.anchor("")).replace("&", "\\&")
    method = c.rng.choice(METHODS)
    parts = [PREAMBLE.replace("@METHOD@", method.title()), f"\\title{{{title}}}", f"\\author{{{c.person()} \\and {c.person()}}}",
             "\\begin{document}", "\\maketitle", f"\\begin{{abstract}}\n{_para(c, 3, 4)}\n\\end{{abstract}}"]
    if with_sections:
        for inp in inputs:
            parts.append(f"\\input{{{inp}}}")
        for name in c.rng.sample(["Method", "Experiments", "Results", "Discussion", "Related Work"], 3):
            parts.append(f"\\section{{{name}}}\n\\label{{sec:{name.lower().replace(' ', '-')}}}\n{_section_body(c, c.rng.randint(3, 5))}")
        parts.append("\\begin{table}[t]\n\\centering\n\\begin{tabular}{lr}\nMethod & Error (\\%) \\\\\n"
                     + "".join(f"{m} & {c.rng.randint(2, 40)}.{c.rng.randint(0, 9)} \\\\\n" for m in METHODS[:3])
                     + "\\end{tabular}\n\\caption{Main results.}\\label{tab:main}\n\\end{table}")
        parts.append("\\section{Conclusion}\n" + _para(c))
        if appendix:
            parts.append("\\appendix\n\\section{Proofs}\\label{app:proof}\n" + _section_body(c, 2))
    else:
        parts.append(_para(c) + "\n\n" + _para(c))
    parts.append(bib)
    parts.append("\\end{document}")
    return "\n\n".join(parts) + "\n"


APPLEDOUBLE = (b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\t\x00\x00\x002"
               + b"\x00" * 60 + b"ATTR\x00\x00\x00\x00com.apple.quarantine\x00" + b"\x00" * 40)


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))
    return gzip_bytes(buf.getvalue())


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    c = Composer(rng_for("arxiv", seed))
    _POOL.clear()
    counts: dict[str, int] = {}

    def intro() -> bytes:
        return ("\\section{Introduction}\n\\label{sec:intro}\n" + _section_body(c, 3) + "\n").encode()

    def draft() -> bytes:
        return ("% old draft, not used\n\\section{Old introduction}\n" + _para(c) + "\n").encode()

    papers: dict[str, list[tuple[str, bytes]]] = {
        "2113.00001": [("main.tex", _main_tex(c, ["sections/intro"], _bibliography(c)).encode()),
                       ("sections/intro.tex", intro()), ("draft_old.tex", draft()),
                       ("._main.tex", APPLEDOUBLE)],
        "2113.00002": [("main.tex", _main_tex(c, ["sections/intro"], "\\bibliographystyle{plain}\n\\bibliography{refs}").encode()),
                       ("sections/intro.tex", intro()), ("refs.bib", _bibtex(c).encode()),
                       ("draft_v1.tex", draft()), ("._main.tex", APPLEDOUBLE)],
        "2113.00003": [("main.tex", _main_tex(c, ["sections/intro"], _bibliography(c)).encode()),
                       ("sections/intro.tex", intro()), ("unused_notes.tex", draft()),
                       ("._main.tex", APPLEDOUBLE)],
        "2113.00004": [("main.tex", _main_tex(c, [], _bibliography(c), with_sections=False).encode()),
                       ("._main.tex", APPLEDOUBLE)],
        "2113.00006": [("main.tex", _main_tex(c, ["sections/intro"], "\\bibliography{refs}", appendix=False).encode()),
                       ("sections/intro.tex", intro()), ("refs.bib", _bibtex(c).encode()),
                       ("old_abstract.tex", draft()), ("._main.tex", APPLEDOUBLE)],
    }
    for arxiv_id, members in papers.items():
        write_bytes(out / "arxiv" / f"{arxiv_id}.tar.gz", _tar(members))
        counts[f"arxiv/{arxiv_id}.tar.gz"] = len(members)
    single = _main_tex(c, [], _bibliography(c)).replace("\\input{sections/intro}", "")
    write_bytes(out / "arxiv" / "2113.00005.gz", gzip_bytes(single.encode()))
    counts["arxiv/2113.00005.gz"] = 1
    return counts
