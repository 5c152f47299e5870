"""The Common Crawl source (every CCNet sub-stage) built from s3:// gives the documents it gives
from the same WET files on local disk (moto's S3 server on 127.0.0.1, see tests/io/servers.py).

The local build is the session's `ccnet_run`; the S3 build starts from a copy of its run dir
(the Wikipedia stage it trains its models on), with the WET inputs replaced by S3 copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llamapipe.engine import run_stage
from llamapipe.formats.documents import read_documents
from llamapipe.sources.commoncrawl import FINAL_STAGE, build_stages_from_section
from tests.io.servers import BUCKET, MotoS3

pytest.importorskip("moto.server", reason="moto[server] (dev extra) is not installed")
pytestmark = pytest.mark.slow


def _final(run_dir: Path) -> list[tuple]:
    shards = sorted((run_dir / FINAL_STAGE / "shards").glob("*.parquet"))
    return [(d.id, d.text, d.source, d.meta) for p in shards for d in read_documents(p)]


def test_commoncrawl_from_s3_matches_local(ccnet_run, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(ccnet_run.run_dir, run_dir)
    with MotoS3() as s3:
        refs = []
        for path in map(Path, ccnet_run.inputs):
            key = f"crawl/{path.name}"
            s3.client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
            refs.append(f"s3://{BUCKET}/{key}")
        section = ccnet_run.section.model_copy(update={"inputs": refs})
        for spec in build_stages_from_section(section):
            run_stage(spec, run_dir, executor="inprocess", force=True)
    remote, local = _final(run_dir), _final(ccnet_run.run_dir)
    assert len(local) >= 20
    assert remote == local
