"""Decision steps: a threshold edit re-runs only the step that applies it, and gives what a
fresh build with the new threshold gives; the cuts sit where "first copy" stays what it was."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from llamapipe.config.sources.c4_from_wet import C4FromWetConfig
from llamapipe.engine import Counters, run_stage
from llamapipe.filters import FilterRunner
from llamapipe.formats.documents import read_documents
from llamapipe.formats.github import iter_source_files
from llamapipe.formats.wet.parse import read_wet
from llamapipe.sources.c4_from_wet import build_wet_stages
from llamapipe.sources.github import candidate_filters, decision_filters, file_document
from llamapipe.text.c4_rules import clean_page, page_sentences, span_keys
from llamapipe.text.langid import load_model
from tests.engine.conftest import cli

GITHUB = "github/github_files_sample.jsonl.gz"
WET = "commoncrawl/CC-MAIN-2019-30-sample-{:02d}.warc.wet.gz"


def _pipeline(tmp_path: Path, sources: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "pipeline.toml"
    path.write_text(
        f'[run]\ndir = "run"\n[executor]\nkind = "inprocess"\n{sources}', encoding="utf-8"
    )
    return path


def _build(config: Path, *args: str) -> str:
    out = cli("data", "build", "-c", str(config), *args)
    assert out.returncode == 0, out.stderr
    return out.stderr + out.stdout


def _shards(stage_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((stage_dir / "shards").glob("*.parquet"))}


def _docs(stage_dir: Path) -> list:
    return [d for p in sorted((stage_dir / "shards").glob("*.parquet")) for d in read_documents(p)]


@pytest.mark.slow
def test_github_quality_edit_reruns_only_the_final_stage(realdata: Path, tmp_path: Path) -> None:
    section = f'[sources.github]\ninputs = ["{realdata / GITHUB}"]\n'
    config = _pipeline(tmp_path / "edited", section)
    _build(config)
    before = _docs(tmp_path / "edited/run/ingest/github")
    status = cli("status", "-c", str(config), "--set", "sources.github.max_mean_line_length=40")
    states = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in status.stdout.splitlines()
        if line.startswith("│ ingest/")
    }
    assert states == {
        "ingest/github/candidates": "complete",
        "ingest/github/dedup": "complete",
        "ingest/github": "stale",  # the decision step alone
    }, status.stdout
    edit = ("--set", "sources.github.max_mean_line_length=40", "--force")
    log = _build(config, *edit)
    assert "ingest/github/candidates: complete, nothing to do" in log
    assert "ingest/github/dedup: complete, nothing to do" in log
    assert "ingest/github: rebuilding (config changed (max_mean_line_length))" in log
    fresh = _pipeline(tmp_path / "fresh", section + "max_mean_line_length = 40\n")
    _build(fresh)
    edited = _shards(tmp_path / "edited/run/ingest/github")
    assert edited == _shards(tmp_path / "fresh/run/ingest/github")
    after = _docs(tmp_path / "edited/run/ingest/github")
    assert 0 < len(after) < len(before)
    assert max(d.meta["mean_line_length_exact"] for d in after) <= 40
    stats = json.loads((tmp_path / "edited/run/ingest/github/stats.json").read_text())
    assert stats["removed"]["mean_line_length"] > 1
    # The cut after the dedup keeps what the cut before it kept (the order the rules had):
    # every rule file by file in input order, then the first copy of each content.
    stages = {s.name: s for s in _stages_of(config)}
    rules = FilterRunner(
        candidate_filters(stages["ingest/github/candidates"].config)
        + decision_filters(stages["ingest/github"].config),
        Counters(),
    )
    seen: set[str] = set()
    expected = []
    for f in iter_source_files(str(realdata / GITHUB), 1 << 20):
        doc = file_document(f)
        if f.content is not None and rules.keep(doc) and doc.meta["content_hash"] not in seen:
            seen.add(doc.meta["content_hash"])
            expected.append(doc.id)
    assert [d.id for d in after] == expected


def _stages_of(config: Path) -> list:
    from llamapipe.config import load_config
    from llamapipe.sources import source_stages

    cfg = load_config(config, ["sources.github.max_mean_line_length=40"])
    return source_stages(cfg, ["github"])


@pytest.mark.slow
def test_c4_language_edit_keeps_the_rules_and_lid(realdata: Path, tmp_path: Path) -> None:
    wets = ", ".join(f'"{realdata / WET.format(i)}"' for i in (0, 1))
    section = f"[sources.c4]\nfrom_wet = true\ninputs = [{wets}]\n[sources.c4.wet_rules]\n"
    config = _pipeline(tmp_path / "edited", section + "min_language_score = 0.5\n")
    _build(config)
    before = _docs(tmp_path / "edited/run/ingest/c4")
    log = _build(config, "--set", "sources.c4.wet_rules.min_language_score=0.9", "--force")
    assert "ingest/c4/candidates: complete, nothing to do" in log
    assert "ingest/c4/decision: rebuilding (config changed (min_language_score))" in log
    _build(_pipeline(tmp_path / "fresh", section + "min_language_score = 0.9\n"))
    for stage in ("ingest/c4/decision", "ingest/c4"):
        edited = _shards(tmp_path / "edited/run" / stage)
        assert edited == _shards(tmp_path / "fresh/run" / stage), stage
    after = _docs(tmp_path / "edited/run/ingest/c4")
    assert 0 < len(after) < len(before)
    assert min(d.meta["language_score_exact"] for d in after) >= 0.9


def _write_wet(path: Path, pages: list[tuple[str, str]]) -> None:
    """A WET file of conversion records (warcio writes the WARC framing)."""
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, text in pages:
            record = writer.create_warc_record(
                url,
                "conversion",
                payload=io.BytesIO(text.encode("utf-8")),
                warc_headers_dict={"Content-Type": "text/plain", "WARC-Date": "2019-07-17T12:00Z"},
            )
            writer.write_record(record)


def test_c4_language_cut_comes_before_the_span_dedup(realdata: Path, tmp_path: Path) -> None:
    """A page the cut drops shares a span with a later English page: the English page keeps
    that span, as in a build without the dropped page (a dedup first would cut it)."""
    model = load_model(None)
    english, foreign = None, None
    for record in read_wet(realdata / WET.format(0)):
        page = clean_page(f"{record.title}\n{record.raw_content}")
        if page.lines is None:
            continue
        labels, scores = model.predict(" ".join(page.lines), k=1)
        label = labels[0]
        sure = label == "__label__en" and scores[0] >= 0.995
        if sure and english is None and len(page_sentences(page.lines)) > 8:
            english = page.lines
        if label != "__label__en" and foreign is None and len(page.lines) >= 8:
            foreign = page.lines
    assert english and foreign
    # the foreign page with the English page's first line (3+ sentences) appended
    head = next(line for line in english if len(page_sentences([line])) >= 3)
    mixed = [*foreign, head]
    assert set(span_keys(page_sentences(mixed))) & set(span_keys(page_sentences(english)))
    pages = [("https://a.example/mixed", "\n".join(["Mixed", *mixed]))]
    pages.append(("https://b.example/english", "\n".join(["English", *english])))
    _write_wet(tmp_path / "both.warc.wet.gz", pages)
    _write_wet(tmp_path / "alone.warc.wet.gz", pages[1:])
    texts, cut = {}, {}
    for name in ("both", "alone"):
        run_dir = tmp_path / name
        stages = build_wet_stages([str(tmp_path / f"{name}.warc.wet.gz")], 1, C4FromWetConfig())
        stats = {s.name: run_stage(s, run_dir).counters.to_dict() for s in stages}
        texts[name] = {d.meta["url"]: d.text for d in _docs(run_dir / "ingest/c4")}
        cut[name] = stats["ingest/c4/decision"]["removed"]
    assert cut == {"both": {"language": 1}, "alone": {}}
    assert list(texts["both"]) == ["https://b.example/english"]
    assert texts["both"] == texts["alone"]
    assert head in texts["both"]["https://b.example/english"]


def test_cuts_compare_the_unrounded_scores(realdata: Path) -> None:
    """At exactly its limit a file is kept; at the rounded value shown in meta, when that is
    below the true one, it is cut: the cut reads the ``*_exact`` attribute."""
    from llamapipe.filters.code import CodeStats, quality_filters

    for f in iter_source_files(str(realdata / GITHUB), 1 << 20):
        doc = file_document(f)
        if f.content is None or not f.content.strip():
            continue
        CodeStats().check(doc)
        if doc.meta["mean_line_length"] < doc.meta["mean_line_length_exact"]:
            break
    else:
        pytest.fail("no file whose rounded mean line length is below the true one")
    exact, shown = doc.meta["mean_line_length_exact"], doc.meta["mean_line_length"]
    at_limit = FilterRunner(quality_filters(10**9, exact, 0.0, 0.0), Counters())
    assert at_limit.keep(doc)
    rounded = FilterRunner(quality_filters(10**9, shown, 0.0, 0.0), Counters())
    assert not rounded.keep(doc)
    assert rounded.counters.removed_by == {"mean_line_length": 1}
