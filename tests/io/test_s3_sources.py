"""Every source built from s3:// (moto's S3 server on 127.0.0.1) gives the documents it gives
from the same files on local disk.

The server is reached the way a MinIO or other S3-compatible store is: AWS_ENDPOINT_URL and the
AWS_* credential variables, nothing passed in code.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llamapipe.config import config_from_dict
from llamapipe.engine import run_stages
from llamapipe.errors import ConfigError, StorageError
from llamapipe.formats.documents import read_documents
from llamapipe.formats.wet import expand_inputs as wet_inputs
from llamapipe.formats.wet import read_wet
from llamapipe.io import expand_inputs, open_input
from tests.engine.conftest import cli
from tests.io.servers import BUCKET, MotoS3

pytest.importorskip("moto.server", reason="moto[server] (dev extra) is not installed")

WIKI = "wikipedia/xztextfilter_ukwiki-20230501-pages-articles-multistream.first110pages.xml.bz2"
ROOT = f"s3://{BUCKET}/"


@pytest.fixture(scope="module")
def data(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The realdata files the sources read, plus a StackExchange .7z made from a real site."""
    import py7zr

    root = tmp_path_factory.mktemp("data")
    for sub in ("c4", "github", "books", "arxiv", "stackexchange", "commoncrawl"):
        shutil.copytree(realdata / sub, root / sub)
    (root / "wikipedia").mkdir()
    shutil.copy(realdata / WIKI, root / WIKI)
    (root / "se7z").mkdir()
    with py7zr.SevenZipFile(root / "se7z" / "coffee.stackexchange.com.7z", "w") as archive:
        archive.write(root / "stackexchange" / "coffee.stackexchange.com_Posts.xml", "Posts.xml")
    return root


@pytest.fixture(scope="module")
def s3(data: Path):
    with MotoS3() as server:
        server.upload_tree(data)
        yield server


SOURCES = {
    # source -> (inputs relative to the data root, extra config)
    "c4": (["c4"], {"files_per_shard": 1}),
    "c4_from_wet": (
        ["commoncrawl/CC-MAIN-2019-30-sample-0*.warc.wet.gz"],
        {"from_wet": True},
    ),
    "github": (["github/github_files_sample.jsonl.gz"], {}),
    "wikipedia": ([WIKI], {}),
    "books": (["books/*.txt"], {"files_per_shard": 3}),
    "arxiv": (["arxiv/*.tar.gz"], {}),
    "stackexchange": (
        ["stackexchange/coffee.stackexchange.com_Posts.xml", "se7z/coffee.stackexchange.com.7z"],
        {},
    ),
}


def _build(
    source: str, inputs: list[str], extra: dict, run_dir: Path, executor: str = "inprocess"
) -> list[str]:
    section = "c4" if source == "c4_from_wet" else source
    cfg = config_from_dict(
        {"run": {"dir": str(run_dir)}, "sources": {section: {"inputs": inputs, **extra}}},
        run_dir.parent,
    )
    module = importlib.import_module(f"llamapipe.sources.{section}")
    specs = module.build_stages(cfg)
    run_stages(specs, run_dir, executor=executor, workers=2)
    final = run_dir / specs[-1].name / "shards"
    return [
        json.dumps([d.id, d.text, d.source, d.meta], sort_keys=True, ensure_ascii=False)
        for shard in sorted(final.glob("*.parquet"))
        for d in read_documents(shard)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("source", list(SOURCES))
def test_source_from_s3_matches_local(source: str, s3: MotoS3, data: Path, tmp_path: Path):
    inputs, extra = SOURCES[source]
    local = _build(source, [str(data / i) for i in inputs], extra, tmp_path / "local" / "run")
    # C4 from S3 runs in worker processes (forked after the S3 client was used for planning).
    executor = "pool" if source == "c4" else "inprocess"
    remote = _build(source, [ROOT + i for i in inputs], extra, tmp_path / "s3" / "run", executor)
    assert len(local) > 0
    # Ids and metadata may carry the input reference (book keys, origins): compare them with
    # the local root and the bucket written the same way.
    norm_local = [doc.replace(str(data) + "/", "<root>/") for doc in local]
    norm_remote = [doc.replace(ROOT, "<root>/") for doc in remote]
    if source == "books":  # a book's id hashes its path: compare everything but the id
        norm_local = [json.dumps(json.loads(d)[1:]) for d in norm_local]
        norm_remote = [json.dumps(json.loads(d)[1:]) for d in norm_remote]
    assert norm_remote == norm_local


def test_wet_records_from_s3_match_local(s3: MotoS3, data: Path) -> None:
    files = wet_inputs([ROOT + "commoncrawl/CC-MAIN-2019-30-sample-*.warc.wet.gz"])
    assert files == [ROOT + f"commoncrawl/CC-MAIN-2019-30-sample-0{i}.warc.wet.gz" for i in (0, 1)]
    for ref in files:
        local = data / "commoncrawl" / ref.rsplit("/", 1)[1]
        remote = [r.to_meta() | {"t": r.raw_content} for r in read_wet(ref)]
        assert remote == [r.to_meta() | {"t": r.raw_content} for r in read_wet(str(local))]
        assert len(remote) > 150


def test_wet_paths_list_in_s3_resolves_in_its_bucket(s3: MotoS3) -> None:
    import gzip

    listing = "\n".join(f"commoncrawl/CC-MAIN-2019-30-sample-0{i}.warc.wet.gz" for i in (0, 1))
    key = "crawl-data/CC-MAIN-2019-30/wet.paths.gz"
    s3.client.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(listing.encode()))
    files = wet_inputs([ROOT + key])
    assert files == [ROOT + line for line in listing.splitlines()]
    assert all(len(list(read_wet(ref))) > 150 for ref in files)


def test_s3_digest_is_checked_and_listing_is_sorted(s3: MotoS3, data: Path) -> None:
    from llamapipe.io.stream import RemoteReader

    ref = ROOT + "c4/olmo_c4-sample.00000-of-00001.json.gz"
    reader = RemoteReader(ref)
    assert reader.declared_md5 is not None  # a single-part upload: its ETag is its MD5
    assert reader.read() == (data / "c4/olmo_c4-sample.00000-of-00001.json.gz").read_bytes()
    assert reader.verified
    books = expand_inputs([ROOT + "books"], in_folders=lambda p: p.name.endswith(".txt"))
    assert books == sorted(books) and len(books) == 8
    with open_input(ROOT + "c4/hmmina_c4-train.00000-of-01024-head4.json") as fh:
        assert fh.read() == (data / "c4/hmmina_c4-train.00000-of-01024-head4.json").read_bytes()


def test_missing_objects_and_schemes_are_one_line_errors(s3: MotoS3, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such object"):
        expand_inputs([ROOT + "c4/nothing.json.gz"])
    with pytest.raises(StorageError, match="no object matches"):
        expand_inputs([ROOT + "c4/none-*.json.gz"])
    with pytest.raises(StorageError, match=r"pip install 'llamapipe\[gcs\]'"):
        if importlib.util.find_spec("gcsfs") is not None:
            pytest.skip("gcsfs is installed: the missing-extra message cannot be seen")
        open_input("gs://bucket/file.json.gz")
    # huggingface_hub made unimportable in a child process: the same one-line message.
    code = (
        "import sys; sys.modules['huggingface_hub'] = None\n"
        "from llamapipe.io import open_input\n"
        "try:\n    open_input('hf://datasets/allenai/c4/en/x.json.gz')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "StorageError" in child.stdout and "pip install huggingface_hub" in child.stdout
    with pytest.raises(ConfigError, match="unknown scheme 'ftp://'"):
        config_from_dict({"sources": {"c4": {"inputs": ["ftp://host/c4.json.gz"]}}}, tmp_path)

    # The CLI: a build whose S3 input is missing stops with one line and a non-zero exit.
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(
        f'[run]\ndir = "run"\n[sources.c4]\ninputs = ["{ROOT}c4/missing.json.gz"]\n',
        encoding="utf-8",
    )
    result = cli("data", "build", "-c", str(cfg))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert errors[-1].startswith("error:") and "missing.json.gz: no such object" in errors[-1]
    assert "Traceback" not in result.stderr
