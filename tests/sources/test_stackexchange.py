"""StackExchange: Posts.xml/7z reading, thread assembly, HTML to text, the two stages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import py7zr
import pytest

from llamapipe.config import config_from_dict
from llamapipe.engine import run_stages
from llamapipe.formats.documents import read_documents
from llamapipe.formats.stackexchange import (
    Post,
    count_rows,
    iter_posts,
    iter_threads,
    open_posts,
    parse_tags,
    site_name,
)
from llamapipe.sources.stackexchange import build_stages, select_sites
from llamapipe.text.html_to_text import html_to_text

COFFEE = "coffee.stackexchange.com_Posts.xml"
HISTORY_META = "history.meta.stackexchange.com_Posts.xml"

#: A new-schema dump (ContentLicense, |tag| tags), answers before their question, and scores
#: whose string order differs from their numeric order. Newlines inside attributes are written
#: &#xA; as in real dumps (a literal newline in an attribute is read as a space by XML).
QUESTION_BODY = (
    "&lt;p&gt;Why &lt;code&gt;sort&lt;/code&gt;?&lt;/p&gt;&lt;pre&gt;&lt;code&gt;a = "
    "[10, 9, 2]&#xA;    print(sorted(a))&#xA;&lt;/code&gt;&lt;/pre&gt;&lt;ul&gt;&lt;l"
    "i&gt;one&lt;/li&gt;&lt;li&gt;two&lt;/li&gt;&lt;/ul&gt;"
)
NEW_SCHEMA_POSTS = """<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="11" PostTypeId="2" ParentId="10" Score="9" Body="&lt;p&gt;nine&lt;/p&gt;"
       CreationDate="2023-01-02T00:00:00.000" ContentLicense="CC BY-SA 4.0" />
  <row Id="12" PostTypeId="2" ParentId="10" Score="10" Body="&lt;p&gt;ten&lt;/p&gt;"
       CreationDate="2023-01-02T00:00:00.000" ContentLicense="CC BY-SA 4.0" />
  <row Id="10" PostTypeId="1" Score="5" Title="Which sort?" Tags="|sorting|numbers|"
       Body="QUESTION_BODY"
       CreationDate="2023-01-01T00:00:00.000" ContentLicense="CC BY-SA 4.0" />
  <row Id="13" PostTypeId="2" ParentId="10" Score="2" Body="&lt;p&gt;two&lt;/p&gt;"
       CreationDate="2023-01-03T00:00:00.000" ContentLicense="CC BY-SA 4.0" />
  <row Id="14" PostTypeId="2" ParentId="10" Score="10" Body="&lt;p&gt;ten again&lt;/p&gt;"
       CreationDate="2023-01-03T00:00:00.000" ContentLicense="CC BY-SA 4.0" />
  <row Id="20" PostTypeId="1" Score="-1" Title="Unanswered" Tags="|misc|"
       Body="&lt;p&gt;anyone?&lt;/p&gt;" CreationDate="2023-01-04T00:00:00.000" />
  <row Id="30" PostTypeId="2" ParentId="999" Score="1" Body="&lt;p&gt;orphan&lt;/p&gt;" />
  <row Id="oops" PostTypeId="1" Score="1" Title="bad id" Body="x" />
  <row Id="40" PostTypeId="5" Score="0" Body="&lt;p&gt;tag wiki&lt;/p&gt;" />
</posts>
""".replace("QUESTION_BODY", QUESTION_BODY)


@pytest.fixture()
def new_schema_site(tmp_path: Path) -> Path:
    site = tmp_path / "sorting.stackexchange.com"
    site.mkdir()
    (site / "Posts.xml").write_text(NEW_SCHEMA_POSTS, encoding="utf-8")
    return site


def test_site_names() -> None:
    assert site_name("/d/coffee.stackexchange.com.7z") == "coffee.stackexchange.com"
    assert site_name("/d/stackoverflow.com-Posts.7z") == "stackoverflow.com"
    assert site_name(f"/d/{COFFEE}") == "coffee.stackexchange.com"
    assert site_name("/d/math.stackexchange.com/Posts.xml") == "math.stackexchange.com"


def test_both_tag_schemas() -> None:
    assert parse_tags("<storage><whole-bean>") == ["storage", "whole-bean"]
    assert parse_tags("|storage|whole-bean|") == ["storage", "whole-bean"]
    assert parse_tags(None) == []


def test_real_old_schema_counts(realdata: Path) -> None:
    path = realdata / "stackexchange" / COFFEE
    posts = list(iter_posts(path))
    assert count_rows(path) == len(posts) == 592
    assert sum(p.post_type == 1 for p in posts) == 225
    assert sum(p.post_type == 2 for p in posts) == 327
    first = posts[0]
    assert first.tags == ["storage", "whole-bean"] and first.content_license == ""
    threads = list(iter_threads(iter_posts(path)))
    assert len(threads) == 225
    assert sum(len(t.answers) for t in threads) == 327


def test_answers_sorted_by_numeric_score_on_real_site(realdata: Path) -> None:
    """History meta question 618 has answers scored 29 ... 10, 10, 9, ... 2."""
    path = realdata / "stackexchange" / HISTORY_META
    threads = {t.question.id: t for t in iter_threads(iter_posts(path))}
    scores = [a.score for a in threads[618].answers]
    assert scores.index(10) < scores.index(9) < scores.index(2)
    assert scores == sorted(scores, reverse=True)
    assert scores != sorted(scores, key=str, reverse=True)  # string order would be wrong here
    for thread in threads.values():
        keys = [(-a.score, a.id) for a in thread.answers]
        assert keys == sorted(keys)


def test_new_schema_any_order_and_numeric_sort(new_schema_site: Path) -> None:
    errors: list[tuple[str | None, str]] = []
    orphans: list[Post] = []
    posts = iter_posts(new_schema_site / "Posts.xml", on_error=lambda r, m: errors.append((r, m)))
    threads = list(iter_threads(posts, on_orphan=orphans.append))
    assert [t.question.id for t in threads] == [10, 20]
    answered = threads[0]
    assert [(a.score, a.id) for a in answered.answers] == [(10, 12), (10, 14), (9, 11), (2, 13)]
    assert answered.question.tags == ["sorting", "numbers"]
    assert answered.question.content_license == "CC BY-SA 4.0"
    assert threads[1].answers == []
    assert [o.id for o in orphans] == [30]
    assert len(errors) == 1 and "oops" in errors[0][0]


def test_html_to_text_keeps_structure() -> None:
    html = (
        "<p>Use <code>x &lt; y</code> here.</p><ul><li>one</li><li>two<ol><li>a</li>"
        "<li>b</li></ol></li></ul><pre><code>def f():\n    return 1\n\n\n# end\n</code></pre>"
        "<blockquote><p>quoted<br>line</p></blockquote><script>alert(1)</script>"
    )
    assert html_to_text(html) == (
        "Use x < y here.\n\n- one\n- two\n  1. a\n  2. b\n\n"
        "def f():\n    return 1\n\n\n# end\n\nquoted\nline"
    )
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"


def test_7z_archive_input(new_schema_site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "sorting.stackexchange.com.7z"
    with py7zr.SevenZipFile(archive, "w") as zf:
        zf.write(new_schema_site / "Posts.xml", "Posts.xml")
    assert site_name(archive) == "sorting.stackexchange.com"
    work = tmp_path / "work"
    work.mkdir()
    with open_posts(archive, work_dir=work) as xml:
        assert xml.read_text(encoding="utf-8") == NEW_SCHEMA_POSTS
    assert list(work.iterdir()) == []  # extraction folder removed
    with pytest.raises(Exception, match="extraction bound"):
        with open_posts(archive, work_dir=work, max_extract_bytes=100):
            pass


def test_select_largest_sites() -> None:
    records = [
        {"site": "a", "input": "a.7z", "posts": 5, "bytes": 900},
        {"site": "b", "input": "b.7z", "posts": 50, "bytes": 100},
        {"site": "c", "input": "c.7z", "posts": 20, "bytes": 500},
        {"site": "b", "input": "b-copy.7z", "posts": 70, "bytes": 100},
    ]
    assert [r["site"] for r in select_sites(records, 2, "posts")] == ["b", "c"]
    assert [r["input"] for r in select_sites(records, 2, "posts")] == ["b.7z", "c.7z"]
    assert [r["site"] for r in select_sites(records, 2, "bytes")] == ["a", "c"]


def test_stages_on_real_sites_and_archive(
    realdata: Path, new_schema_site: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "dumps"
    inputs.mkdir()
    for name in (COFFEE, HISTORY_META):
        shutil.copy(realdata / "stackexchange" / name, inputs / name)
    with py7zr.SevenZipFile(inputs / "sorting.stackexchange.com.7z", "w") as zf:
        zf.write(new_schema_site / "Posts.xml", "Posts.xml")
    run_dir = tmp_path / "run"
    cfg = config_from_dict(
        {
            "run": {"dir": str(run_dir)},
            "sources": {"stackexchange": {"inputs": [str(inputs)], "max_sites": 2}},
        },
        tmp_path,
    )
    sizes, main = run_stages(build_stages(cfg), run_dir, executor="inprocess")
    assert sizes.counters.totals["sites"] == 3
    docs = [
        doc
        for path in sorted((run_dir / "ingest/stackexchange/shards").glob("*.parquet"))
        for doc in read_documents(path)
    ]
    # The two largest by post count: history meta (1657 rows) and coffee (592), not the 9-row
    # archive.
    assert {d.meta["site"] for d in docs} == {
        "coffee.stackexchange.com",
        "history.meta.stackexchange.com",
    }
    assert len(docs) == 225 + 556
    assert len({d.id for d in docs}) == len(docs)
    doc = next(d for d in docs if d.id == "stackexchange/history.meta.stackexchange.com/618")
    assert doc.text.startswith("Q: ")
    answers = doc.text.split("\n\nA: ")[1:]
    assert len(answers) == 20
    assert doc.meta["answer_scores"] == sorted(doc.meta["answer_scores"], reverse=True)
    assert doc.meta["url"] == "https://history.meta.stackexchange.com/questions/618"
    for d in docs:
        assert "&lt;" not in d.text and "<p>" not in d.text
    stats = json.loads((run_dir / "ingest/stackexchange/stats.json").read_text())
    assert stats["totals"]["posts_in"] == 592 + 1657
    assert main.counters.totals["docs_out"] == 225 + 556


def test_archive_site_through_stage(new_schema_site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "sorting.stackexchange.com.7z"
    with py7zr.SevenZipFile(archive, "w") as zf:
        zf.write(new_schema_site / "Posts.xml", "Posts.xml")
    broken = tmp_path / "broken.stackexchange.com.7z"
    broken.write_bytes(b"7z\xbc\xaf\x27\x1c not really an archive")
    run_dir = tmp_path / "run"
    cfg = config_from_dict(
        {
            "run": {"dir": str(run_dir)},
            "sources": {"stackexchange": {"inputs": [str(archive), str(broken)]}},
        },
        tmp_path,
    )
    sizes, main = run_stages(build_stages(cfg), run_dir, executor="inprocess")
    assert sizes.counters.totals["errors"] == 1
    assert "broken.stackexchange.com.7z" in sizes.counters.errors[0]["path"]
    (doc, unanswered) = list(read_documents(run_dir / "ingest/stackexchange/shards/00000.parquet"))
    assert doc.text == (
        "Q: Which sort?\nWhy sort?\n\na = [10, 9, 2]\n    print(sorted(a))\n\n- one\n- two"
        "\n\nA: ten\n\nA: ten again\n\nA: nine\n\nA: two"
    )
    assert doc.meta["license"] == "CC BY-SA 4.0"
    assert unanswered.text == "Q: Unanswered\nanyone?"
    assert main.counters.removed_by["answer_without_question"] == 1
    assert main.counters.totals["errors"] == 1  # the row with a non-numeric Id


def test_list_item_paragraph_on_the_marker_line_in_real_posts(realdata: Path) -> None:
    """``<li><p>text</p></li>`` (14 coffee, 98 history.meta bodies) reads ``1. text``: no line of
    any real post is a bare list marker, and an item's second paragraph stays in the item."""
    import re
    import xml.etree.ElementTree as ET

    bare_marker = re.compile(r"\s*(-|\d+\.)\s*")
    bodies = 0
    for name in ("coffee.stackexchange.com_Posts.xml", "history.meta.stackexchange.com_Posts.xml"):
        for _event, row in ET.iterparse(realdata / "stackexchange" / name):
            body = row.get("Body") or ""
            if "<li><p>" in body:
                bodies += 1
                lines = html_to_text(body).split("\n")
                assert not [line for line in lines if bare_marker.fullmatch(line)], row.get("Id")
    assert bodies >= 100
    (post,) = [
        row.get("Body")
        for _e, row in ET.iterparse(
            realdata / "stackexchange" / "coffee.stackexchange.com_Posts.xml"
        )
        if row.get("Id") == "143"
    ]
    text = html_to_text(post)
    assert text.startswith("1. Coffee enthusiasts & aficionados identify acidity")
    assert html_to_text("<ul><li><p>one</p><p>more</p></li><li><p>two</p></li></ul>") == (
        "- one\nmore\n- two"
    )
