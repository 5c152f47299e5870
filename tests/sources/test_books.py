"""Books: Gutenberg header/footer stripping, containment near-dup, the resumable stages."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from llamapipe.config import config_from_dict
from llamapipe.engine import run_stages
from llamapipe.formats.documents import read_documents
from llamapipe.formats.gutenberg import iter_jsonl_books, read_text_book, strip_gutenberg
from llamapipe.sources.books import build_stages, plan_book_shards
from llamapipe.text.near_dup import containment, jaccard, word_shingles

#: Lines that only the Gutenberg header, footer or licence contain.
BOILERPLATE = re.compile(
    r"project gutenberg|gutenberg-tm|\*\*\* ?(start|end) of|small print|produced by"
    r"|www\.gutenberg|this ebook is for the use of anyone",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def book_files(realdata: Path) -> list[Path]:
    files = sorted((realdata / "books").glob("*.txt"))
    assert len(files) == 8
    return files


def _second_edition(text: str, front_matter: str, seed: int = 0) -> str:
    """Another edition of a cleaned book: new front matter, a few hundred word-level edits."""
    rng = random.Random(seed)
    words = text.split(" ")
    for _ in range(300):
        i = rng.randrange(len(words))
        words[i] = words[i].replace("e", "é", 1)
    return front_matter + "\n\n" + " ".join(words)


def test_real_books_lose_header_and_footer(book_files: list[Path]) -> None:
    for path in book_files:
        book = read_text_book(path)
        assert book.header_found and book.footer_found, path.name
        assert not BOILERPLATE.search(book.text), (path.name, BOILERPLATE.search(book.text))
        assert "\r" not in book.text and not book.text.startswith("\ufeff")
        assert len(book.text.split()) > 0.8 * len(path.read_text(encoding="utf-8").split()) - 4000


def test_header_facts_from_real_books(book_files: list[Path]) -> None:
    books = {p.name: read_text_book(p) for p in book_files}
    alice = books["pg11_alice_in_wonderland_en.txt"]
    assert alice.title == "Alice’s Adventures in Wonderland"
    assert alice.ebook_number == 11 and alice.release_year == 1994
    assert alice.text.startswith("ALICE’S ADVENTURES IN WONDERLAND")
    assert alice.text.rstrip().endswith("THE END")
    # "***START OF" without a space, and a marker whose title wraps onto the next line.
    assert books["pg132_art_of_war_en.txt"].text.lstrip().startswith("SUN TZU ON THE ART OF WAR")
    jekyll = books["pg43_jekyll_and_hyde_en.txt"].text
    assert jekyll.startswith("The Strange Case Of Dr. Jekyll And Mr. Hyde")
    assert "THE STRANGE CASE OF DR. JEKYLL AND MR. HYDE ***" not in jekyll


def test_old_small_print_header_and_transcriber_notes() -> None:
    text = (
        "\ufeffThe Project Gutenberg Etext of Old Tales\r\n\r\n"
        "**The Legal Small Print**\r\nblah\r\n"
        "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\r\n\r\n"
        "This etext was prepared by A. Volunteer.\r\n\r\n"
        "[Transcriber's Note: obvious typos were corrected.]\r\n\r\n"
        "OLD TALES\r\n\r\nOnce upon a time there was a tale.\r\n\r\n"
        "Transcriber's Notes:\r\nPage 3, 'teh' changed to 'the'.\r\n\r\n"
        "End of the Project Gutenberg Etext of Old Tales\r\n"
    )
    stripped = strip_gutenberg(text)
    assert stripped.header_found and stripped.footer_found
    assert stripped.text == "OLD TALES\n\nOnce upon a time there was a tale."


def test_jsonl_books(tmp_path: Path) -> None:
    path = tmp_path / "books3-sample.jsonl"
    path.write_text(
        json.dumps({"title": "A", "text": "First book text."})
        + "\n{broken\n"
        + json.dumps({"title": "B", "text": "Second book text."})
        + "\n",
        encoding="utf-8",
    )
    errors: list[tuple[object, str]] = []
    books = list(iter_jsonl_books(path, on_error=lambda r, m: errors.append((r, m))))
    assert [(b.title, b.text) for b in books] == [
        ("A", "First book text."),
        ("B", "Second book text."),
    ]
    assert len({b.key for b in books}) == 2
    assert errors == [(f"line at byte {len(path.read_text().splitlines()[0]) + 1}", errors[0][1])]
    assert "bad book record" in errors[0][1]


def test_jsonl_byte_ranges_read_every_line_once(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    lines = [json.dumps({"title": f"T{i}", "text": f"book {i} " * (i % 7 + 1)}) for i in range(50)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size = path.stat().st_size
    whole = [b.key for b in iter_jsonl_books(path)]
    for step in (1024, 333, 97):
        split = [
            b.key
            for start in range(0, size, step)
            for b in iter_jsonl_books(path, byte_range=(start, min(start + step, size)))
        ]
        assert split == whole
    assert len(whole) == 50
    shards = plan_book_shards([str(path), "/b/x.txt", "/b/y.txt"], 1, 1024)
    ranges = [s.params["byte_range"] for s in shards if s.params]
    assert len(ranges) == -(-size // 1024) and ranges[0][0] == 0 and ranges[-1][1] == size
    assert [s.inputs for s in shards if not s.params] == [("/b/x.txt",), ("/b/y.txt",)]


def test_edition_overlap_is_containment_not_jaccard(book_files: list[Path]) -> None:
    """The case of RECIPE.md: a Jaccard >= 0.9 rule would keep both editions."""
    books = {p.name: read_text_book(p).text for p in book_files}
    original = books["pg35_time_machine_en.txt"]
    preface = books["pg1080_modest_proposal_en.txt"][:14000]  # foreign front matter, ~12%
    edition = _second_edition(original, "INTRODUCTION\n\n" + preface)
    a, b = word_shingles(original), word_shingles(edition)
    assert containment(a, b) > 0.9
    assert jaccard(a, b) < 0.9


@pytest.fixture(scope="module")
def books_run(book_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real books plus, in another input folder, a second edition of The Time Machine."""
    tmp = tmp_path_factory.mktemp("books")
    books = {p.name: read_text_book(p).text for p in book_files}
    preface = books["pg1080_modest_proposal_en.txt"][:14000]
    edition = _second_edition(books["pg35_time_machine_en.txt"], "INTRODUCTION\n\n" + preface)
    extra = tmp / "more_books"
    extra.mkdir()
    (extra / "time_machine_annotated.jsonl").write_text(
        json.dumps({"title": "The Time Machine (annotated)", "text": edition}) + "\n",
        encoding="utf-8",
    )
    # The same real file under a second input: a different id, and an exact duplicate.
    copy_dir = tmp / "copy"
    copy_dir.mkdir()
    alice = next(p for p in book_files if p.name.startswith("pg11_"))
    (copy_dir / alice.name).write_bytes(alice.read_bytes())
    run_dir = tmp / "run"
    cfg = config_from_dict(
        {
            "run": {"dir": str(run_dir)},
            "sources": {
                "books": {
                    "inputs": [str(book_files[0].parent), str(extra), str(copy_dir)],
                    "files_per_shard": 3,
                }
            },
        },
        tmp,
    )
    run_stages(build_stages(cfg), run_dir, executor="inprocess")
    return run_dir


def _final_docs(run_dir: Path) -> list:
    shards = sorted((run_dir / "ingest/books/shards").glob("*.parquet"))
    return [doc for path in shards for doc in read_documents(path)]


def test_stage_removes_second_edition_keeps_other_books(books_run: Path) -> None:
    docs = _final_docs(books_run)
    titles = sorted(d.meta["title"] for d in docs)
    # 8 real books + the annotated edition + Alice's copy -> 8: the longer annotated edition
    # replaces the original Time Machine; one of the two identical Alice files goes.
    assert len(docs) == 8
    assert "The Time Machine (annotated)" in titles and "The Time Machine" not in titles
    assert titles.count("Alice’s Adventures in Wonderland") == 1
    pairs = [
        json.loads(line)
        for line in (books_run / "ingest/books/removed_pairs.jsonl").read_text().splitlines()
    ]
    assert len(pairs) == 2
    time_machine = next(p for p in pairs if p["removed_title"] == "The Time Machine")
    assert time_machine["kept_title"] == "The Time Machine (annotated)"
    assert time_machine["containment"] > 0.9 and time_machine["jaccard"] < 0.9
    stats = json.loads((books_run / "ingest/books/stats.json").read_text())
    assert stats["removed"] == {"near_duplicate": 2}
    for doc in docs:
        assert not BOILERPLATE.search(doc.text)


def test_stage_ids_unique_across_inputs(books_run: Path) -> None:
    candidates = [
        doc
        for path in sorted((books_run / "ingest/books/candidates/shards").glob("*.parquet"))
        for doc in read_documents(path)
    ]
    assert len(candidates) == 10
    ids = [d.id for d in candidates]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("books/") for i in ids)
    alice_ids = [d.id for d in candidates if d.meta["ebook_number"] == 11]
    assert len(alice_ids) == 2 and all(i.startswith("books/pg11-") for i in alice_ids)


def test_stage_rerun_is_resumed_not_redone(books_run: Path, book_files: list[Path]) -> None:
    cfg_path = books_run / "ingest/books/candidates/manifest.json"
    before = cfg_path.read_text()
    cfg = config_from_dict(
        {
            "run": {"dir": str(books_run)},
            "sources": {
                "books": {
                    "inputs": [
                        str(book_files[0].parent),
                        str(books_run.parent / "more_books"),
                        str(books_run.parent / "copy"),
                    ],
                    "files_per_shard": 3,
                }
            },
        },
        books_run.parent,
    )
    results = run_stages(build_stages(cfg), books_run, executor="inprocess")
    assert all(r.shards_run == 0 for r in results)
    assert json.loads(cfg_path.read_text())["config"] == json.loads(before)["config"]
