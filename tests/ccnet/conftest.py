"""A whole CCNet run on the real samples, built once per test session.

Inputs: the two real CC-MAIN-2019-30 shards plus a byte copy of the second one standing for a
later dump, with group_size=2 so that the copy sits in a dedup group of its own (its lines
survive paragraph dedup, and only the cross-dump exact document dedup can remove its pages).
The LM and the classifier are trained on the Wikipedia stage's output of the real enwiki sample.
"""

from __future__ import annotations

import gzip
import importlib
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from llamapipe.config.sources.commoncrawl import CommonCrawlSourceConfig
from llamapipe.config.sources.wikipedia import WikipediaSourceConfig
from llamapipe.engine import StageResult, StageSpec, run_stage
from llamapipe.text.kenlm_tools import KenLMToolMissing, find_kenlm_binary

ENWIKI = "gensim_enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml.bz2"
SHARDS = ["CC-MAIN-2019-30-sample-00.warc.wet.gz", "CC-MAIN-2019-30-sample-01.warc.wet.gz"]
DUMP_COPY = "CC-MAIN-2019-35-copy-of-sample-01.warc.wet.gz"
CC_NET_TARBALL = "cc_net-bda555b.tar.gz"
#: What cc_net's `process_wet_file.parse_doc` reads at positions 1..8 of a record's headers.
CC_NET_HEADER_ORDER = (
    "warc-type",
    "warc-target-uri",
    "warc-date",
    "warc-record-id",
    "warc-refers-to",
    "warc-block-digest",
    "content-type",
    "content-length",
)


@dataclass
class CCNetRun:
    run_dir: Path
    inputs: list[str]
    section: CommonCrawlSourceConfig
    stages: list[StageSpec]
    results: dict[str, StageResult]


def require_kenlm() -> None:
    try:
        find_kenlm_binary("lmplz")
        find_kenlm_binary("build_binary")
    except KenLMToolMissing as exc:
        pytest.skip(str(exc))


def _wiki_stage(realdata: Path) -> list[StageSpec]:
    from types import SimpleNamespace

    from llamapipe.sources import wikipedia

    section = WikipediaSourceConfig(inputs=[str(realdata / "wikipedia" / ENWIKI)], languages=["en"])
    cfg = SimpleNamespace(sources=SimpleNamespace(wikipedia=section))
    return wikipedia.build_stages(cfg)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def ccnet_run(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> CCNetRun:
    require_kenlm()
    from llamapipe.sources.commoncrawl import build_stages_from_section

    root = tmp_path_factory.mktemp("ccnet")
    run_dir = root / "run"
    copy = root / DUMP_COPY
    shutil.copyfile(realdata / "commoncrawl" / SHARDS[1], copy)
    inputs = [str(realdata / "commoncrawl" / name) for name in SHARDS] + [str(copy)]
    section = CommonCrawlSourceConfig(
        inputs=inputs,
        group_size=2,
        lm={"sp_vocab_size": 8000, "cutoff_sample_docs": 200},
        classifier={"min_ref_pages": 5},
    )
    results = {}
    for spec in _wiki_stage(realdata):
        results[spec.name] = run_stage(spec, run_dir, executor="inprocess")
    stages = build_stages_from_section(section)
    for spec in stages:
        results[spec.name] = run_stage(spec, run_dir, executor="inprocess")
    return CCNetRun(run_dir, inputs, section, stages, results)


def _headers_by_name(parse_doc):
    """cc_net's own `parse_doc`, fed the headers it wants at the positions it reads them from.

    cc_net reads WARC headers by position, and these files (like current Common Crawl dumps)
    write them in another order: the shim only reorders the header lines by name (the oracle
    README calls this fair); the parsing itself stays cc_net's."""

    def by_name(headers: list[str], doc: list[str]):
        if not headers:
            return parse_doc(headers, doc)
        named = {}
        for line in headers[1:]:
            key, _, value = line.partition(":")
            named[key.strip().lower()] = value.strip()
        ordered = [headers[0]] + [f"{key}: {named.get(key, '')}" for key in CC_NET_HEADER_ORDER]
        return parse_doc(ordered, doc)

    return by_name


@pytest.fixture(scope="session")
def cc_net(realdata: Path, tmp_path_factory: pytest.TempPathFactory):
    """facebookresearch/cc_net at bda555b (its 1.0.0 code), imported from the oracle tarball
    (../shared/oracles or $LLAMAPIPE_ORACLES) as the reference to compare against. Its modules
    need numpy, sentencepiece, fasttext, kenlm, pandas, func_argparse and bs4 (the dev extra)."""
    root = Path(os.environ.get("LLAMAPIPE_ORACLES", realdata.parent / "oracles"))
    tarball = root / CC_NET_TARBALL
    if not tarball.is_file():
        pytest.skip(f"cc_net oracle source not found at {tarball} (set LLAMAPIPE_ORACLES)")
    for module in ("func_argparse", "bs4", "pandas"):
        pytest.importorskip(module, reason=f"cc_net's modules import {module} (dev extra)")
    src = tmp_path_factory.mktemp("cc_net_src")
    with tarfile.open(tarball) as tar:
        tar.extractall(src, filter="data")
    sys.path.insert(0, str(src))
    try:
        names = ("process_wet_file", "dedup", "perplexity", "split_by_lang", "text_normalizer")
        modules = {name: importlib.import_module(f"cc_net.{name}") for name in names}
        pwf = modules["process_wet_file"]
        pwf.parse_doc = _headers_by_name(pwf.parse_doc)  # group_by_docs looks it up globally
        yield SimpleNamespace(**modules)
    finally:
        sys.path.remove(str(src))
        for name in [m for m in sys.modules if m == "cc_net" or m.startswith("cc_net.")]:
            del sys.modules[name]


@pytest.fixture(scope="session")
def sample_run(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> CCNetRun:
    """The CCNet sub-stages on the project's own sample (data/commoncrawl, data/wikipedia)."""
    from types import SimpleNamespace

    from llamapipe.sources import wikipedia
    from llamapipe.sources.commoncrawl import build_stages_from_section

    require_kenlm()
    data = repo_root / "data"
    run_dir = tmp_path_factory.mktemp("ccnet-sample") / "run"
    wiki = WikipediaSourceConfig(inputs=[str(data / "wikipedia" / "*.xml.bz2")])
    results = {}
    for spec in wikipedia.build_stages(SimpleNamespace(sources=SimpleNamespace(wikipedia=wiki))):
        results[spec.name] = run_stage(spec, run_dir, executor="inprocess")
    inputs = [str(data / "commoncrawl" / "CC-MAIN-2099-00-sample-*.warc.wet.gz")]
    section = CommonCrawlSourceConfig(
        inputs=inputs,
        lm={"sp_vocab_size": 2000, "cutoff_sample_docs": 1000},
        classifier={"min_ref_pages": 20},
    )
    stages = build_stages_from_section(section)
    for spec in stages:
        results[spec.name] = run_stage(spec, run_dir, executor="inprocess")
    return CCNetRun(run_dir, inputs, section, stages, results)


# ---- builders of small WET files for bad-input tests, made from real records of the samples


def real_conversion_records(path: Path, limit: int) -> list[tuple[list[tuple[str, str]], bytes]]:
    """(headers in file order, payload) of the first `limit` conversion records of `path`."""
    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.conversion, parse_http=False):
            out.append((list(rec.headers.items()), rec.reader.read()))
            if len(out) >= limit:
                break
    return out


def serialize(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One WARC record; Content-Length is recomputed from the payload."""
    lines = ["WARC/1.0"]
    for key, value in headers:
        if key.lower() != "content-length":
            lines.append(f"{key}: {value}")
    lines.append(f"Content-Length: {len(payload)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + payload + b"\r\n\r\n"


def write_gzip_members(path: Path, records: list[bytes]) -> Path:
    """A WET file with one gzip member per record, as Common Crawl writes them."""
    with open(path, "wb") as fh:
        for rec in records:
            fh.write(gzip.compress(rec, mtime=0))
    return path


@pytest.fixture
def wet_builders() -> SimpleNamespace:
    """The WET builders above, as a fixture (test modules never import each other)."""
    return SimpleNamespace(
        real_conversion_records=real_conversion_records,
        serialize=serialize,
        write_gzip_members=write_gzip_members,
    )
