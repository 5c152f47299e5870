"""ArXiv source: safe bounded archive reading and LaTeX cleaning on the real paper sources."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

from llamapipe.config.sources.arxiv import ArxivSourceConfig
from llamapipe.engine import run_stage
from llamapipe.formats.arxiv import ArchiveLimits, Paper, PaperFailure, decode_tex, iter_papers
from llamapipe.formats.documents import read_documents
from llamapipe.sources.arxiv import build_source_stages
from llamapipe.text.latex import (
    clean_paper,
    expand_macros,
    extract_macros,
    find_main_file,
    strip_comments,
)

CAM16 = "arxiv/REPACKED_arXiv_1802.06067_note-on-cam16_src.tar.gz"
S2ORC = "arxiv/arXiv_1911.02782_src.tar.gz"
UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile() and m.name.endswith(".tex")
        }


def _tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _run(inputs: list[str], run_dir: Path, **kw) -> tuple[list, dict]:
    spec = build_source_stages(ArxivSourceConfig(inputs=inputs, **kw))[0]
    stats = run_stage(spec, run_dir, executor="inprocess").counters.to_dict()
    docs = []
    for shard in sorted((run_dir / "ingest/arxiv/shards").glob("*.parquet")):
        docs.extend(read_documents(shard))
    return docs, stats


def test_real_papers_body_only(realdata: Path, tmp_path: Path) -> None:
    docs, stats = _run([str(realdata / CAM16), str(realdata / S2ORC)], tmp_path)
    assert [d.meta["main_file"] for d in docs] == ["main.tex", "main.tex"]
    cam16, s2orc = docs
    assert cam16.text.startswith("\\section{Introduction}")
    assert s2orc.text.startswith("\\section{Introduction}")
    for doc in docs:
        assert "\\begin{thebibliography}" not in doc.text
        assert "\\bibliography{" not in doc.text and "\\bibliographystyle" not in doc.text
        assert "\\appendix" not in doc.text and "\\begin{document}" not in doc.text
        assert not UNESCAPED_PERCENT.search(doc.text)  # no comment survives
        assert "\\newcommand" not in doc.text
    # \input{perf.tex} was inlined (its pgfplots legend), its "table {%" comment removed.
    assert "legend entries={{without fixes},{with fixes}}" in cam16.text
    assert "Full model" not in cam16.text  # the appendix section
    assert "speed-up of about 5\\%" in cam16.text  # escaped percent kept
    # \DeclareMathOperator{\sign}{sign} expanded
    assert "\\sign" not in cam16.text and "\\operatorname{sign}" in cam16.text
    # S2ORC's \gorc, \grobid, \latex macros expanded; its commented-out \mag line gone.
    assert "\\gorc" not in s2orc.text and "\\grobid" not in s2orc.text
    assert "\\textsc{S2ORC}\\xspace" in s2orc.text
    assert "Microsoft Academic Graph\\xspace" not in s2orc.text
    assert "90.4\\%" in s2orc.text
    assert stats["totals"]["docs_out"] == 2


def test_comment_stripping_keeps_escaped_percent_and_verbatim() -> None:
    src = (
        "% whole line comment\n"
        "Accuracy is 95\\% here % an inline comment\n"
        "  % indented comment line\n"
        "a \\\\% after a line break is a comment\n"
        "\\verb|50%| stays\n"
        "\\begin{verbatim}\n100% literal\n\\end{verbatim}\n"
        "\\begin{comment}\nhidden draft\n\\end{comment}\n"
        "end"
    )
    out = strip_comments(src)
    assert out == (
        "Accuracy is 95\\% here\n"
        "a \\\\\n"
        "\\verb|50%| stays\n"
        "\\begin{verbatim}\n100% literal\n\\end{verbatim}\n"
        "end"
    )


def test_macro_expansion_with_arguments_and_defaults() -> None:
    src = (
        "\\newcommand{\\R}{\\mathbb{R}}\n"
        "\\newcommand\\norm[1]{\\lVert #1 \\rVert}\n"
        "\\newcommand{\\pair}[2][x]{(#1, #2)}\n"
        "\\renewcommand{\\R}{\\mathbb{R}^n}\n"
        "\\def\\half#1{\\frac{#1}{2}}\n"
        "\\def\\eps{\\varepsilon}\n"
        "\\newcommand{\\both}{\\norm{\\eps}}\n"
        "Body: $\\R$, $\\norm{v}$, $\\pair{y}$, $\\pair[a]{b}$, $\\half{3}$, $\\both$, "
        "\\Real and \\\\R stay."
    )
    macros, rest = extract_macros(src)
    assert set(macros) == {"R", "norm", "pair", "half", "eps", "both"}
    assert "\\newcommand" not in rest and "\\def" not in rest
    out = expand_macros(rest, macros).strip()
    assert out == (
        "Body: $\\mathbb{R}^n$, $\\lVert v \\rVert$, $(x, y)$, $(a, b)$, $\\frac{3}{2}$, "
        "$\\lVert \\varepsilon \\rVert$, \\Real and \\\\R stay."
    )
    # A self-referential macro stops after a bounded number of passes instead of hanging.
    loop, text = extract_macros("\\newcommand{\\a}{\\a\\a}x\\a")
    assert len(expand_macros(text, loop)) < 100_000


def test_main_file_choice_junk_and_drafts(realdata: Path, tmp_path: Path) -> None:
    members = _members(realdata / CAM16)
    draft = b"\\documentclass{article}\\begin{document}\\section{Old}draft\\end{document}"
    members["old/draft.tex"] = draft
    members["._main.tex"] = b"\x00\x05\x16\x07Mac OS X resource fork \\documentclass"
    path = _tar_gz(tmp_path / "2101.00001.tar.gz", members)
    (paper,) = list(iter_papers(path))
    assert isinstance(paper, Paper)
    assert "._main.tex" not in paper.files and paper.skipped["junk"] == 1
    texts = {n: decode_tex(d) for n, d in paper.files.items()}
    assert find_main_file(texts, paper.members) == "main.tex"
    assert clean_paper(texts, paper.members).text.startswith("\\section{Introduction}")


def test_unsafe_and_oversize_members_rejected(realdata: Path, tmp_path: Path) -> None:
    members = _members(realdata / CAM16)
    members["../../escape.tex"] = b"\\section{Evil} outside the destination"
    members["/etc/abs.tex"] = b"\\section{Evil} absolute"
    members["big.tex"] = b"x" * 200_000
    path = _tar_gz(tmp_path / "evil.tar.gz", members)
    limits = ArchiveLimits(max_member_bytes=100_000, max_total_bytes=10 << 20)
    (paper,) = list(iter_papers(path, limits))
    assert isinstance(paper, Paper)
    assert paper.skipped["unsafe_path"] == 2 and paper.skipped["member_too_large"] == 1
    assert sorted(paper.files) == ["main.tex", "perf.tex"]
    assert not (tmp_path / "escape.tex").exists() and not (tmp_path.parent / "escape.tex").exists()
    docs, stats = _run([str(path)], tmp_path / "run", max_member_bytes=100_000)
    assert len(docs) == 1 and "Evil" not in docs[0].text
    assert stats["totals"]["members_skipped_unsafe_path"] == 2
    assert stats["totals"]["members_skipped_member_too_large"] == 1


def test_decompression_bomb_rejected(tmp_path: Path) -> None:
    bomb = tmp_path / "2101.99999.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b"\\documentclass{article}\\begin{document}\\section{A}")
        for _ in range(64):
            fh.write(b"\0" * (1 << 20))  # 64 MiB of zeros -> ~64 kB compressed
    assert bomb.stat().st_size < 200_000
    (failure,) = list(iter_papers(bomb, ArchiveLimits(max_total_bytes=8 << 20)))
    assert isinstance(failure, PaperFailure) and failure.reason == "too_large"


def test_bulk_tar_single_tex_and_bad_papers(realdata: Path, tmp_path: Path) -> None:
    single = gzip.compress(
        b"\\documentclass{article}\n\\begin{document}\n\\title{T}\\maketitle\n"
        b"\\section{Only}\nThe text, 10\\% of it. % comment\n\\end{document}\n"
    )
    no_section = gzip.compress(b"\\documentclass{article}\\begin{document}Hi\\end{document}")
    bulk = tmp_path / "arXiv_src_2101_001.tar"
    with tarfile.open(bulk, "w") as tar:
        entries = {
            "2101/1802.06067.gz": (realdata / CAM16).read_bytes(),
            "2101/2101.00002.gz": single,
            "2101/2101.00003.gz": no_section,
            "2101/2101.00004.gz": b"\x1f\x8b\x08\x00corrupt",
            "2101/2101.00005.pdf": b"%PDF-1.4",
        }
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    docs, stats = _run([str(bulk)], tmp_path / "run")
    assert [d.id for d in docs] == ["arxiv/1802.06067", "arxiv/2101.00002"]
    assert docs[1].text == "\\section{Only}\nThe text, 10\\% of it.\n"
    removed = stats["removed"]
    assert removed == {"no_section": 1, "corrupt_archive": 1, "pdf_only": 1}
    assert stats["totals"]["errors"] == 1
    assert "2101.00004" in stats["errors"][0]["record"]


def test_directory_input_and_latin1(realdata: Path, tmp_path: Path) -> None:
    paper_dir = tmp_path / "paper"
    paper_dir.mkdir()
    for name, data in _members(realdata / CAM16).items():
        (paper_dir / name).write_bytes(data)
    latin = tmp_path / "old" / "9901001"
    latin.mkdir(parents=True)
    (latin / "ms.tex").write_bytes(
        "\\documentstyle{article}\\begin{document}\\section{Caf\xe9}Na\xefve text."
        "\\end{document}".encode("latin-1")
    )
    docs, _ = _run([str(paper_dir), str(tmp_path / "old")], tmp_path / "run")
    assert docs[0].text.startswith("\\section{Introduction}")
    assert docs[1].text == "\\section{Café}Naïve text.\n"
    assert decode_tex(b"\\section{x}\x00\x01\x02\x03\x04\x05" * 10) is None


def test_input_resolution_relative_cycles_and_missing() -> None:
    from llamapipe.text.latex import resolve_inputs

    files = {
        "paper/main.tex": "A \\input{sections/intro} B \\include{sections/loop.tex} C "
        "\\input{figure.pdf_tex} D \\input{../../etc/passwd} E \\input sections/tail F",
        "paper/sections/intro.tex": "[intro \\input{sections/nested}]",
        "paper/sections/nested.tex": "[nested]",
        "paper/sections/loop.tex": "[loop \\input{sections/loop}]",
        "paper/sections/tail.tex": "[tail]",
    }
    out = resolve_inputs("paper/main.tex", files)
    assert out == "A [intro [nested]\n]\n B [loop ]\n C  D  E [tail]\n F"


def test_root_entry_is_not_unsafe_but_traversal_is(realdata: Path, tmp_path: Path) -> None:
    """The real paper re-packed the way ``tar -C dir -czf x.tar.gz .`` writes it: a ``./`` root
    entry and ``./``-prefixed names. Only a ``..`` that climbs out is unsafe."""
    members = {f"./{name}": data for name, data in _members(realdata / CAM16).items()}
    members["./figs/../notes.tex"] = b"\\section{Notes} inside the archive"
    members["./figs/../../escape.tex"] = b"\\section{Evil} outside"
    path = tmp_path / "dotted.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        root = tarfile.TarInfo("./")
        root.type = tarfile.DIRTYPE
        tar.addfile(root)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (paper,) = list(iter_papers(path))
    assert isinstance(paper, Paper)
    assert dict(paper.skipped) == {"unsafe_path": 1}
    assert sorted(paper.files) == ["main.tex", "notes.tex", "perf.tex"]
    docs, stats = _run([str(path)], tmp_path / "run")
    assert [d.meta["main_file"] for d in docs] == ["main.tex"]
    assert stats["totals"]["members_skipped_unsafe_path"] == 1


def test_empty_and_non_gzip_gz_are_errors_of_their_own(realdata: Path, tmp_path: Path) -> None:
    empty = tmp_path / "1234.56789.gz"
    empty.write_bytes(b"")
    plain = tmp_path / "2345.67890.gz"  # a real .tex saved under a .gz name, uncompressed
    plain.write_bytes(_members(realdata / CAM16)["main.tex"])
    docs, stats = _run([str(realdata / CAM16), str(empty), str(plain)], tmp_path / "run")
    assert len(docs) == 1
    assert stats["removed"] == {"empty_file": 1, "not_gzip": 1}
    assert stats["totals"]["errors"] == 2
    by_path = {e["path"]: e["error"] for e in stats["errors"]}
    assert by_path[str(empty)] == "empty file (0 bytes)"
    assert by_path[str(plain)].startswith("named .gz but not gzip data")
