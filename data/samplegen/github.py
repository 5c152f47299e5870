"""GitHub sample: BigQuery-style rows (JSONL.gz) and three small repository trees.

Rows: {repo_name, path, license, language, size, content}. Repositories are MIT, Apache-2.0,
BSD-3-Clause (kept by a LLaMA-style license filter) and GPL-3.0 (dropped). On purpose: C files with
license header comments and #include lines, shell scripts with a shebang, a minified JS bundle, a
package-lock.json, a generated table with a 2000-character line, and exact-duplicate files shared
by several repositories. The code is written from templates for llamapipe; the LICENSE/COPYING
files are the standard license texts (the one exception to "all text is ours").
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .common import SEED, rng_for, write_bytes
from .compose import Composer

LICENSE_DIR = Path(__file__).resolve().parent / "licenses"

VERBS = ["parse", "load", "count", "merge", "split", "render", "clamp", "scan", "encode", "decode",
         "flush", "resolve", "sort", "filter", "measure", "collect", "trim", "open", "read", "write"]
NOUNS = ["record", "buffer", "token", "line", "path", "header", "entry", "range", "block", "field",
         "chunk", "index", "table", "frame", "packet", "column", "span", "label"]


@dataclass
class Repo:
    name: str
    license: str  # SPDX id
    holder: str
    year: int
    langs: list[str]
    n_files: int
    tree: bool = False  # also written as data/github/repos/<short name>/


REPOS = [
    Repo("ostrandlabs/tidepool", "MIT", "Ostrand Labs", 2017, ["python", "shell"], 16, tree=True),
    Repo("velmora/linecount", "MIT", "Velmora Tools", 2015, ["c", "shell"], 14),
    Repo("brookett/quickmap", "Apache-2.0", "Brookett Software", 2018, ["go", "shell"], 15, tree=True),
    Repo("holtwood/frame-ui", "MIT", "Holtwood", 2019, ["js"], 14),
    Repo("kellstrom/ringbuf", "Apache-2.0", "Kellstrom and contributors", 2016, ["rust"], 13),
    Repo("pellova/shelltools", "BSD-3-Clause", "Pellova Project", 2014, ["shell", "python"], 12),
    Repo("larkberg/geomath", "BSD-3-Clause", "Larkberg University", 2012, ["c", "python"], 16),
    Repo("ravnsen/gplview", "GPL-3.0", "Ravnsen", 2013, ["c"], 14),
    Repo("ormquist/snapshot", "GPL-3.0", "Ormquist", 2016, ["python", "shell"], 13, tree=True),
    Repo("trellham/tablegen", "Apache-2.0", "Trellham Data", 2019, ["python"], 15),
]
EXT = {"python": "py", "c": "c", "js": "js", "go": "go", "rust": "rs", "shell": "sh"}
LANG_NAME = {"python": "Python", "c": "C", "js": "JavaScript", "go": "Go", "rust": "Rust",
             "shell": "Shell"}

# Files copied verbatim between repositories (exact duplicates for the dedup step).
SHARED_EDITORCONFIG = "root = true\n\n[*]\nindent_style = space\nindent_size = 4\nend_of_line = lf\ninsert_final_newline = true\n"
SHARED_GITIGNORE = "__pycache__/\n*.o\n*.so\nbuild/\ndist/\n.env\n"
SHARED_STRUTIL_C = """/* strutil.c - small string helpers shared by several tools. */
#include <ctype.h>
#include <string.h>

/* Remove trailing whitespace in place and return the new length. */
size_t strutil_rtrim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\\0';
    }
    return n;
}

/* Count occurrences of c in s. */
size_t strutil_count(const char *s, char c)
{
    size_t k = 0;
    for (; *s; s++) {
        if (*s == c) {
            k++;
        }
    }
    return k;
}
"""


def _ident(c: Composer, sep: str = "_") -> str:
    return f"{c.rng.choice(VERBS)}{sep}{c.rng.choice(NOUNS)}"


def _camel(c: Composer) -> str:
    v, n = c.rng.choice(VERBS), c.rng.choice(NOUNS)
    return v + n.title()


def _py_file(c: Composer, repo: Repo) -> str:
    rng = c.rng
    noun = rng.choice(NOUNS)
    parts = [f'"""Helpers for {noun} handling in {repo.name.split("/")[1]}."""\n', "from __future__ import annotations\n",
             "import os\nimport sys\n" if rng.random() < 0.5 else "import json\nimport sys\n"]
    for _ in range(rng.randint(2, 5)):
        fn = _ident(c)
        arg = rng.choice(NOUNS)
        body = rng.choice([
            f"    if not {arg}:\n        return []\n    return [x for x in {arg} if x is not None]\n",
            f"    total = 0\n    for item in {arg}:\n        total += len(str(item))\n    return total\n",
            f"    with open({arg}, encoding=\"utf-8\") as fh:\n        return [line.rstrip(\"\\n\") for line in fh]\n",
            f"    lo, hi = {rng.randint(0, 9)}, {rng.randint(10, 999)}\n    return max(lo, min(hi, int({arg})))\n",
            f"    parts = str({arg}).split(\"{rng.choice([',', ';', ':', '|'])}\")\n    return {{p.strip(): i for i, p in enumerate(parts)}}\n",
        ])
        parts.append(f"\ndef {fn}({arg}):\n    \"\"\"{fn.replace('_', ' ').capitalize()} for one {noun}.\"\"\"\n{body}")
    if rng.random() < 0.4:
        parts.append("\n\nif __name__ == \"__main__\":\n    print(sys.argv[1:] if len(sys.argv) > 1 else \"usage: pass a path\")\n")
    return "\n".join(parts)


def _c_file(c: Composer, repo: Repo) -> str:
    rng = c.rng
    header = (f"/*\n * Copyright (c) {repo.year} {repo.holder}\n *\n"
              f" * SPDX-License-Identifier: {repo.license}\n */\n")
    if repo.license == "GPL-3.0":
        header = (f"/*\n * Copyright (C) {repo.year} {repo.holder}\n *\n"
                  " * This program is free software: you can redistribute it and/or modify\n"
                  " * it under the terms of the GNU General Public License as published by\n"
                  " * the Free Software Foundation, either version 3 of the License, or\n"
                  " * (at your option) any later version.\n */\n")
    incs = rng.sample(["<stdio.h>", "<stdlib.h>", "<string.h>", "<stdint.h>", "<errno.h>", "<math.h>"], 3)
    parts = [header, "".join(f"#include {i}\n" for i in incs)]
    for _ in range(rng.randint(2, 4)):
        fn = _ident(c)
        body = rng.choice([
            "    size_t i, n = 0;\n    for (i = 0; i < len; i++) {\n        if (buf[i] == '\\n') {\n            n++;\n        }\n    }\n    return (long)n;\n",
            "    if (buf == NULL || len == 0) {\n        return -1;\n    }\n    return (long)(buf[0] & 0x7f);\n",
            f"    long acc = {rng.randint(1, 97)};\n    while (len--) {{\n        acc = acc * 31 + *buf++;\n    }}\n    return acc;\n",
        ])
        parts.append(f"\n/* {fn.replace('_', ' ')}: returns a count or -1 on bad input. */\nlong {fn}(const char *buf, size_t len)\n{{\n{body}}}\n")
    parts.append("\nint main(int argc, char **argv)\n{\n    if (argc < 2) {\n        fprintf(stderr, \"usage: %s FILE\\n\", argv[0]);\n        return 2;\n    }\n    return 0;\n}\n"
                 if rng.random() < 0.3 else "")
    return "".join(parts)


def _js_file(c: Composer, repo: Repo) -> str:
    rng = c.rng
    parts = ["'use strict';\n"]
    for _ in range(rng.randint(2, 5)):
        fn = _camel(c)
        body = rng.choice([
            "  return items.filter((x) => x != null).map((x) => String(x).trim());\n",
            f"  const out = {{}};\n  for (const item of items) {{\n    out[item.id] = (out[item.id] || 0) + {rng.randint(1, 9)};\n  }}\n  return out;\n",
            "  if (!Array.isArray(items)) {\n    throw new TypeError('items must be an array');\n  }\n  return items.length;\n",
        ])
        parts.append(f"\n/** {fn}: small helper used by the widgets. */\nfunction {fn}(items) {{\n{body}}}\n")
    parts.append("\nmodule.exports = { " + ", ".join(p.split("function ")[1].split("(")[0] for p in parts[1:]) + " };\n")
    return "".join(parts)


def _go_file(c: Composer, repo: Repo) -> str:
    rng = c.rng
    pkg = rng.choice(["quickmap", "internal", "store"])
    parts = [f"// Package {pkg} holds the map helpers.\npackage {pkg}\n\nimport (\n\t\"errors\"\n\t\"strings\"\n)\n"]
    for _ in range(rng.randint(2, 4)):
        fn = _camel(c)
        fn = fn[0].upper() + fn[1:]
        body = rng.choice([
            "\tif s == \"\" {\n\t\treturn 0, errors.New(\"empty input\")\n\t}\n\treturn len(strings.Fields(s)), nil\n",
            f"\tn := strings.Count(s, \"{rng.choice([',', ';', ':'])}\")\n\treturn n + 1, nil\n",
        ])
        parts.append(f"\n// {fn} counts the parts of s.\nfunc {fn}(s string) (int, error) {{\n{body}}}\n")
    return "".join(parts)


def _rust_file(c: Composer, repo: Repo) -> str:
    rng = c.rng
    parts = ["//! Fixed-capacity ring buffer helpers.\n\nuse std::collections::VecDeque;\n"]
    for _ in range(rng.randint(2, 4)):
        fn = _ident(c)
        body = rng.choice([
            "    items.iter().filter(|x| **x > 0).count()\n",
            f"    items.iter().fold({rng.randint(0, 9)}, |acc, x| acc.wrapping_add(*x as usize))\n",
        ])
        parts.append(f"\n/// {fn.replace('_', ' ')} over a slice.\npub fn {fn}(items: &[i64]) -> usize {{\n{body}}}\n")
    parts.append("\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn empty_is_zero() {\n"
                 "        let q: VecDeque<i64> = VecDeque::new();\n        assert_eq!(q.len(), 0);\n    }\n}\n")
    return "".join(parts)


def _sh_file(c: Composer, repo: Repo) -> str:
    rng = c.rng
    shebang = rng.choice(["#!/bin/sh", "#!/usr/bin/env bash", "#!/bin/bash"])
    target = rng.choice(["build", "dist", "out", "tmp"])
    return (f"{shebang}\n# {_ident(c, ' ')} helper for {repo.name}\nset -eu\n\n"
            f"OUT=\"${{1:-{target}}}\"\nmkdir -p \"$OUT\"\n"
            f"for f in src/*; do\n    echo \"processing $f\"\n    cp \"$f\" \"$OUT/\"\ndone\n"
            f"echo \"done: $(ls \"$OUT\" | wc -l) files\"\n")


WRITERS = {"python": _py_file, "c": _c_file, "js": _js_file, "go": _go_file, "rust": _rust_file,
           "shell": _sh_file}


def _minified_js(c: Composer) -> str:
    names = [f"{v}{n.title()}" for v in VERBS[:8] for n in NOUNS[:6]]
    parts = [f"function {n}(a,b){{return a&&a.length?a.map(function(x){{return x+{c.rng.randint(1, 9)}}}):b}}"
             for n in names]
    return "!function(){\"use strict\";" + ";".join(parts) + ";window.frameUi={version:\"2.4.1\"}}();\n"


def _package_lock(c: Composer) -> str:
    deps = {}
    for n in NOUNS[:12]:
        ver = f"{c.rng.randint(0, 9)}.{c.rng.randint(0, 20)}.{c.rng.randint(0, 9)}"
        deps[f"node_modules/{n}-utils"] = {
            "version": ver,
            "resolved": f"https://registry.npmjs.org/{n}-utils/-/{n}-utils-{ver}.tgz",
            "integrity": "sha512-" + "".join(c.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/") for _ in range(86)) + "==",
        }
    lock = {"name": "frame-ui", "version": "2.4.1", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "frame-ui", "version": "2.4.1"}, **deps}}
    return json.dumps(lock, indent=2) + "\n"


def _long_line_table(c: Composer) -> str:
    values: list[str] = []
    while len("CRC_TABLE = [" + ", ".join(values) + "]") < 2000:
        values.append(str(c.rng.randint(0, 65535)))
    line = "CRC_TABLE = [" + ", ".join(values) + "]"
    return f'"""Lookup table for the checksum routine (one value per byte pair)."""\n\n{line}\n'


def _license_text(spdx: str, holder: str, year: int) -> str:
    text = (LICENSE_DIR / f"{spdx}.txt").read_text(encoding="utf-8")
    return text.replace("{year}", str(year)).replace("{holder}", holder)


def _repo_files(c: Composer, repo: Repo) -> list[tuple[str, str, str]]:
    """(path, language, content) for one repository, license file first."""
    files: list[tuple[str, str, str]] = []
    lic_name = "COPYING" if repo.license == "GPL-3.0" else "LICENSE"
    files.append((lic_name, "Text", _license_text(repo.license, repo.holder, repo.year)))
    short = repo.name.split("/")[1]
    files.append(("README.md", "Markdown",
                  f"# {short}\n\n{c.paragraph(c.topic(), None, 2, 3)}\n\n## Usage\n\nRun `make` and then `./{short} --help`.\n"))
    files.append((".editorconfig", "INI", SHARED_EDITORCONFIG))
    if "python" in repo.langs or "c" in repo.langs:
        files.append((".gitignore", "Text", SHARED_GITIGNORE))
    if "c" in repo.langs and repo.license != "GPL-3.0":
        files.append(("src/strutil.c", "C", SHARED_STRUTIL_C))
    if repo.name == "holtwood/frame-ui":
        files.append(("dist/frame-ui.min.js", "JavaScript", _minified_js(c)))
        files.append(("package-lock.json", "JSON", _package_lock(c)))
    if repo.name == "trellham/tablegen":
        files.append(("tablegen/crc_table.py", "Python", _long_line_table(c)))
    used = {p for p, _, _ in files}
    while len(files) < repo.n_files:
        lang = c.rng.choice(repo.langs)
        folder = {"python": short.replace("-", "_"), "c": "src", "js": "lib", "go": "pkg",
                  "rust": "src", "shell": "scripts"}[lang]
        path = f"{folder}/{_ident(c)}.{EXT[lang]}"
        if path in used:
            continue
        used.add(path)
        files.append((path, LANG_NAME[lang], WRITERS[lang](c, repo)))
    return files


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    c = Composer(rng_for("github", seed))
    rows = []
    for repo in REPOS:
        files = _repo_files(c, repo)
        for path, lang, content in files:
            rows.append({"repo_name": repo.name, "path": path, "license": repo.license,
                         "language": lang, "size": len(content.encode("utf-8")), "content": content})
        if repo.tree:
            root = out / "github" / "repos" / repo.name.split("/")[1]
            if root.is_dir():  # file names are random: drop the previous generation's tree
                shutil.rmtree(root)
            for path, _, content in files[: min(len(files), 7)]:
                write_bytes(root / path, content.encode("utf-8"))
    # The shared tidepool helpers are vendored verbatim into tablegen (cross-repo exact duplicate).
    tidepool_py = next(r for r in rows if r["repo_name"] == "ostrandlabs/tidepool" and r["path"].endswith(".py"))
    rows.append({**tidepool_py, "repo_name": "trellham/tablegen", "license": "Apache-2.0",
                 "path": "vendor/" + tidepool_py["path"].split("/")[-1]})
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_bytes(out / "github" / "github_files.jsonl.gz", gzip.compress(body.encode("utf-8"), 9, mtime=0))
    counts = {"github/github_files.jsonl.gz": len(rows)}
    for repo in REPOS:
        if repo.tree:
            counts[f"github/repos/{repo.name.split('/')[1]}"] = min(repo.n_files, 7)
    return counts
