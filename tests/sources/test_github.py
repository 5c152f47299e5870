"""GitHub source: readers, file rules and the three-stage global dedup on the real sample."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from llamapipe.config.sources.github import GitHubSourceConfig
from llamapipe.engine import Counters, run_stage
from llamapipe.filters import FilterRunner
from llamapipe.formats.documents import read_documents
from llamapipe.formats.github import (
    detect_license,
    iter_bigquery_rows,
    iter_repository_tarball,
    iter_repository_tree,
)
from llamapipe.sources.github import build_source_stages, decision_filters
from llamapipe.text.code_filters import (
    is_permissive_license,
    language_of,
    normalize_license,
    strip_license_header,
    vendored_or_generated,
)

SAMPLE = "github/github_files_sample.jsonl.gz"


def _rows(realdata: Path) -> list[dict]:
    with gzip.open(realdata / SAMPLE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _run_all(cfg: GitHubSourceConfig, run_dir: Path) -> dict[str, dict]:
    out = {}
    for spec in build_source_stages(cfg):
        out[spec.name] = run_stage(spec, run_dir, executor="inprocess").counters.to_dict()
    return out


def _final_docs(run_dir: Path) -> list:
    docs = []
    for shard in sorted((run_dir / "ingest/github/shards").glob("*.parquet")):
        docs.extend(read_documents(shard))
    return docs


def test_lgpl_dropped_and_24_duplicates_collapse(realdata: Path, tmp_path: Path) -> None:
    cfg = GitHubSourceConfig(
        inputs=[str(realdata / SAMPLE)],
        filter_extensions=False,
        drop_vendored=False,
        filter_quality=False,
        strip_headers=False,
    )
    stats = _run_all(cfg, tmp_path)
    assert stats["ingest/github/candidates"]["removed"] == {"license": 22}
    assert stats["ingest/github"]["removed"] == {"duplicate": 24}
    docs = _final_docs(tmp_path)
    assert len(docs) == 871 - 22 - 24
    assert not any(d.meta["repo"] == "piskvorky/gensim" for d in docs)
    hashes = Counter(d.meta["content_hash"] for d in docs)
    assert hashes.most_common(1)[0][1] == 1
    assert len({d.id for d in docs}) == len(docs)


def test_dedup_is_global_and_keeps_first_by_shard_order(realdata: Path, tmp_path: Path) -> None:
    rows = _rows(realdata)
    # Two inputs: the second holds every row again plus nothing new, the first every other row.
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    first.write_text("".join(json.dumps(r) + "\n" for r in rows[::2]), encoding="utf-8")
    with gzip.open(second, "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))
    cfg = GitHubSourceConfig(inputs=[str(first), str(second)], dedup_buckets=3)
    stats = _run_all(cfg, tmp_path / "run")
    docs = _final_docs(tmp_path / "run")
    assert Counter(d.meta["content_hash"] for d in docs).most_common(1)[0][1] == 1
    in_first = {r["path"] for r in rows[::2]}
    shard0 = list(read_documents(tmp_path / "run/ingest/github/shards/00000.parquet"))
    shard0_paths = [d.meta["path"] for d in shard0]
    # Shard 0 never loses a file to shard 1; it loses only its own internal repeats.
    assert set(shard0_paths) <= in_first
    candidates0 = list(
        read_documents(tmp_path / "run/ingest/github/candidates/shards/00000.parquet")
    )
    # (the quality cuts run in the final stage, on the scores the candidates stored)
    decision = FilterRunner(decision_filters(build_source_stages(cfg)[2].config), Counters())
    passing = [d for d in candidates0 if decision.keep(d)]
    assert len(shard0) == len({d.meta["content_hash"] for d in passing})
    # every repeat is a duplicate, but for the repeats of files the quality cuts drop whole
    # (a file that was only a header has no key)
    candidates = [
        d
        for shard in sorted((tmp_path / "run/ingest/github/candidates/shards").glob("*.parquet"))
        for d in read_documents(shard)
    ]
    cut = Counter(
        d.meta["content_hash"] for d in candidates if d.text.strip() and not decision.keep(d)
    )
    repeats = stats["ingest/github/dedup"]["totals"]["repeats"]
    assert repeats == stats["ingest/github"]["removed"]["duplicate"] + sum(
        n - 1 for n in cut.values()
    )


def test_default_rules_on_real_sample(realdata: Path, tmp_path: Path) -> None:
    cfg = GitHubSourceConfig(inputs=[str(realdata / SAMPLE)])
    stats = _run_all(cfg, tmp_path)
    removed = stats["ingest/github/candidates"]["removed"]
    assert removed["license"] == 22
    assert removed["lock_file"] >= 1  # cobra's go.sum
    assert removed["vendored"] >= 1  # chalk's source/vendor/
    assert removed["extension"] > 300  # dolma's YAML configs, .gitignore, ...
    docs = _final_docs(tmp_path)
    paths = {d.meta["path"] for d in docs}
    assert "go.sum" not in paths
    assert not any("/vendor/" in f"/{p}" for p in paths)
    for d in docs:
        assert d.meta["language"] is not None
        assert d.meta["license"] in ("MIT", "Apache-2.0")
        assert d.meta["max_line_length"] <= 1000 and d.meta["mean_line_length"] <= 100
        assert d.text.strip()
    by_path = {(r["repo_name"], r["path"]): r["content"] for r in _rows(realdata)}
    stripped_c = 0
    for d in docs:
        original = by_path[(d.meta["repo"], d.meta["path"])]
        # Preprocessor lines and shebangs are code: header stripping never removes one.
        for prefix in ("#include", "#define", "#!"):
            before = sum(line.startswith(prefix) for line in original.splitlines())
            after = sum(line.startswith(prefix) for line in d.text.splitlines())
            assert after == before, (d.meta["path"], prefix)
        if d.meta["header_stripped"]:
            assert "Permission is hereby granted" not in d.text[:400]
            stripped_c += d.meta["language"] == "C"
    assert stripped_c >= 2  # cJSON.c and cJSON_Utils.c carry the MIT text in a /* */ header


def test_license_files_of_the_sample_are_recognised(realdata: Path) -> None:
    seen = 0
    for row in _rows(realdata):
        name = row["path"].rsplit("/", 1)[-1].lower()
        if name in ("license", "license.txt", "copying") and "/" not in row["path"]:
            assert detect_license(row["content"]) == row["license"], row["repo_name"]
            seen += 1
    assert seen == 9  # one per repository
    assert normalize_license("apache-2.0") == "Apache-2.0"
    assert normalize_license("GPL-3.0-or-later") == "GPL-3.0"
    assert is_permissive_license("bsd-2-clause")
    assert is_permissive_license("MIT OR Apache-2.0")
    assert not is_permissive_license("MIT AND GPL-3.0")
    assert not is_permissive_license(None)


def test_header_stripping_keeps_include_and_shebang() -> None:
    c_src = (
        "/*\n * Copyright (c) 2020 Someone\n * Licensed under the MIT license.\n */\n"
        "#include <stdio.h>\n#define X 1\nint main(void) { return X; }\n"
    )
    out, removed = strip_license_header(c_src, "C")
    assert removed and out.startswith("#include <stdio.h>\n#define X 1\n")
    py_src = (
        "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n# Copyright 2021 ACME\n"
        "# SPDX-License-Identifier: Apache-2.0\n\n# Helpers for parsing.\nimport os\n"
    )
    out, removed = strip_license_header(py_src, "Python")
    assert removed
    assert out.splitlines()[:2] == ["#!/usr/bin/env python3", "# -*- coding: utf-8 -*-"]
    assert "Copyright" not in out and "# Helpers for parsing." in out and "import os" in out
    sh_src = "#!/bin/sh\n# This script prints hello\necho hello\n"
    assert strip_license_header(sh_src, "Shell") == (sh_src, False)
    # A license comment after code is documentation, not a header: kept.
    go_src = "package main\n\n// Copyright 2020\nfunc main() {}\n"
    assert strip_license_header(go_src, "Go") == (go_src, False)


def test_vendored_lock_minified_and_generated(realdata: Path) -> None:
    assert vendored_or_generated("web/dist/app.min.js", "var a=1;") == "minified"
    assert vendored_or_generated("app.js", "x=" + "1," * 2000) == "minified"
    assert vendored_or_generated("package-lock.json", "{}") == "lock_file"
    assert vendored_or_generated("a/node_modules/x/index.js", "x") == "vendored"
    assert vendored_or_generated("api.pb.go", "package api") == "generated"
    assert vendored_or_generated("z.go", "// Code generated by stringer; DO NOT EDIT.\n") == (
        "generated"
    )
    assert vendored_or_generated("src/main.c", "int main;") is None
    gosum = next(r for r in _rows(realdata) if r["path"] == "go.sum")
    assert vendored_or_generated(gosum["path"], gosum["content"]) == "lock_file"
    assert language_of("x/Makefile") == "Makefile" and language_of("a.C") == "C++"
    assert language_of("a.yaml") is None


def test_tree_and_tarball_readers_detect_license(realdata: Path, tmp_path: Path) -> None:
    chalk = [r for r in _rows(realdata) if r["repo_name"] == "chalk/chalk"]
    tree = tmp_path / "chalk"
    for r in chalk:
        target = tree / r["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(r["content"], encoding="utf-8")
    (tree / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    files = list(iter_repository_tree(tree))
    assert {f.license for f in files} == {"MIT"}
    assert next(f for f in files if f.path == "logo.png").skip == "binary"
    assert len(files) == len(chalk) + 1

    tarball = tmp_path / "chalk-678e550.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for r in chalk:
            data = r["content"].encode("utf-8")
            info = tarfile.TarInfo(f"chalk-678e550/{r['path']}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        evil = tarfile.TarInfo("../../etc/evil.js")
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"x=1"))
    errors = []
    files = list(iter_repository_tarball(tarball, on_error=lambda *e: errors.append(e)))
    assert {f.license for f in files} == {"MIT"}
    assert sorted(f.path for f in files) == sorted(r["path"] for r in chalk)
    assert len(errors) == 1 and "unsafe member path" in errors[0][2]


def test_corrupt_row_is_counted_not_fatal(realdata: Path, tmp_path: Path) -> None:
    rows = _rows(realdata)[:20]
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines[5] = lines[5][:40]  # truncated record
    lines[7] = json.dumps({"path": "x.py", "content": "x"})  # no repo_name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = []
    files = list(iter_bigquery_rows(path, on_error=lambda *e: errors.append(e)))
    assert len(files) == 18
    assert [e[1] for e in errors] == [6, 8]
    assert "invalid JSON" in errors[0][2] and "repo_name" in errors[1][2]
    stats = _run_all(GitHubSourceConfig(inputs=[str(path)]), tmp_path / "run")
    assert stats["ingest/github/candidates"]["totals"]["errors"] == 2
    with pytest.raises(ValueError, match=r"bad.jsonl \(record 6\)"):
        list(iter_bigquery_rows(path))


def test_parquet_export_and_truncated_gzip(realdata: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(realdata)
    table = pa.Table.from_pylist(
        [{k: r[k] for k in ("repo_name", "path", "license", "content", "commit")} for r in rows]
    )
    parquet = tmp_path / "export-000.parquet"
    pq.write_table(table, parquet, row_group_size=100)
    from_parquet = list(iter_bigquery_rows(parquet))
    from_jsonl = list(iter_bigquery_rows(realdata / SAMPLE))
    assert [(f.repo, f.path, f.license, f.content) for f in from_parquet] == [
        (f.repo, f.path, f.license, f.content) for f in from_jsonl
    ]
    # A gzip cut in the middle: the rows before the cut are kept, the cut is one counted error.
    data = (realdata / SAMPLE).read_bytes()
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(data[: len(data) // 2])
    errors = []
    files = list(iter_bigquery_rows(truncated, on_error=lambda *e: errors.append(e)))
    assert 100 < len(files) < len(rows)
    assert len(errors) == 1 and "rest of file skipped" in errors[0][2]


def test_python_license_docstring_stripped_but_real_docstring_kept() -> None:
    src = '"""\nCopyright 2019 ACME Corp.\nLicensed under the MIT License.\n"""\nimport os\n'
    assert strip_license_header(src, "Python") == ("import os\n", True)
    doc = '"""Parse the config file."""\n# Copyright 2019 ACME\nimport os\n'
    assert strip_license_header(doc, "Python") == (
        '"""Parse the config file."""\nimport os\n',
        True,
    )
