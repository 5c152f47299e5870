"""Exact document dedup inside a source and the held-out split drawn after it, on real C4."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from rich.console import Console

from llamapipe.config import config_from_dict
from llamapipe.engine import run_stages
from llamapipe.formats.documents import Document, read_documents
from llamapipe.mix.keys import text_key
from llamapipe.mix.selection import VALID, DocumentIndex, build_source_split
from llamapipe.mix.stats import render_data_stats
from llamapipe.pipeline import data_stages, token_stages
from llamapipe.tokenizer import layout

OLMO = "c4/olmo_c4-sample.00000-of-00001.json.gz"


def _write_gz(path: Path, lines: list[str]) -> str:
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
    return str(path)


def _repeats(realdata: Path, tmp_path: Path) -> list[str]:
    """Three small files whose 30 documents all also appear in the real sample.

    File a copies 10 records as they are; file b re-wraps the text of 10 others (same words,
    other whitespace: the same document) under a mirror URL, so only the text matches; file c
    copies 10 records under a URL with the other scheme or a trailing slash."""
    lines = gzip.open(realdata / OLMO, "rt", encoding="utf-8").read().splitlines()
    records = [json.loads(line) for line in lines]
    exact = lines[100:110]
    rewrapped = []
    for rec in records[400:410]:
        text = "  " + rec["text"].replace(" ", "\n ", 3) + "\n\n"
        rec = dict(rec, text=text, url=rec["url"] + "?mirror=1")
        rewrapped.append(json.dumps(rec))
    same_url = []
    for rec in records[900:910]:
        url = rec["url"]
        url = url.replace("https://", "http://") if "https://" in url else url + "/"
        same_url.append(json.dumps(dict(rec, url=url)))
    return [
        _write_gz(tmp_path / "repeats-a.json.gz", exact),
        _write_gz(tmp_path / "repeats-b.json.gz", rewrapped),
        _write_gz(tmp_path / "repeats-c.json.gz", same_url),
    ]


def _config(tmp_path: Path, inputs: list[str]):
    data = {
        "run": {"dir": str(tmp_path / "run")},
        "sources": {"c4": {"inputs": inputs}},
        "mix": {"weights": {"c4": 1.0}, "valid_fraction": 0.1, "valid_min_documents": 2},
        "tokenizer": {"vocab_size": 2000, "sample_bytes": 600_000, "num_threads": 2},
    }
    return config_from_dict(data, tmp_path)


def _texts(folder: Path) -> list[Document]:
    return [d for p in sorted(folder.glob("*.parquet")) for d in read_documents(p)]


def test_real_c4_with_repeated_files_keeps_1000_documents(realdata: Path, tmp_path: Path) -> None:
    original = str(realdata / OLMO)
    cfg = _config(tmp_path, [original, *_repeats(realdata, tmp_path)])
    run_dir = cfg.run_dir
    results = {r.name: r for r in run_stages(data_stages(cfg), run_dir, executor="inprocess")}
    stats = json.loads((run_dir / "ingest/c4/stats.json").read_text())
    assert stats["totals"]["docs_out"] == 1000
    assert stats["removed"] == {"duplicate": 30}
    assert results["ingest/c4/documents"].counters.totals["docs_out"] == 1030
    # First occurrence wins: every kept document comes from the real sample, none from a copy.
    kept = _texts(run_dir / "ingest/c4/shards")
    assert all(d.id.startswith("c4/olmo_c4-sample") for d in kept)
    assert len({text_key(d.text) for d in kept}) == 1000

    run_stages(token_stages(cfg), run_dir, executor="inprocess")
    manifest = json.loads((run_dir / layout.TOKENS_MANIFEST).read_text())
    c4 = manifest["sources"]["c4"]
    assert c4["documents"] + c4["valid_documents"] == 1000
    held_out = _texts(run_dir / layout.VALID_STAGE / "c4" / "documents")
    assert len(held_out) == c4["valid_documents"] == 100
    id_files = sorted((run_dir / layout.source_stage("c4") / "train_ids").glob("*.parquet"))
    train_ids = {i for p in id_files for i in pq.read_table(p).column("id").to_pylist()}
    train_texts = {text_key(d.text) for d in kept if d.id in train_ids}
    assert len(train_ids) == c4["documents"]
    assert not {text_key(d.text) for d in held_out} & train_texts

    console = Console(record=True, width=240)
    console.print(render_data_stats(cfg))
    row = next(line for line in console.export_text().splitlines() if line.startswith("│ c4 "))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[:5] == ["c4", f"{c4['documents']:,}", cells[2], "100", "30"]


def test_held_out_documents_have_no_twin_in_any_source(realdata: Path) -> None:
    """Two sources share 60 real texts and no cross-source dedup removes them: none of those
    may be held out in either, though half of each source is held out."""
    lines = gzip.open(realdata / OLMO, "rt", encoding="utf-8").read().splitlines()[:400]
    texts = [json.loads(line)["text"] for line in lines]
    c4 = [Document(f"c4/{i}", t, "c4", {}) for i, t in enumerate(texts[:300])]
    shared = texts[:60]
    # the books copies are re-wrapped (one line each): the same text once normalised
    books = [Document(f"books/{i}", " ".join(t.split()), "books", {}) for i, t in enumerate(shared)]
    books += [Document(f"books/own{i}", t, "books", {}) for i, t in enumerate(texts[300:])]
    indexes = {
        "c4": DocumentIndex.from_documents(c4, seed=3),
        "books": DocumentIndex.from_documents(books, seed=3),
    }
    labels = {}
    for name in indexes:
        split = build_source_split(indexes, name, [], 0.5, 1, 10_000)
        labels[name] = split.labels(indexes[name])
        assert int((labels[name] == VALID).sum()) == round(0.5 * len(indexes[name]))
    shared_keys = {text_key(t) for t in shared}
    for name, docs in (("c4", c4), ("books", books)):
        held = [d for d, label in zip(docs, labels[name], strict=True) if label == VALID]
        assert not {text_key(d.text) for d in held} & shared_keys, name
    # Without the twin rule the same seeds would hold out shared texts: the test can fail.
    ranks = np.argsort(indexes["c4"].split_key)[:150]
    assert any(int(i) < 60 for i in ranks)
