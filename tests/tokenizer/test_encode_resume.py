"""A killed encode resumes to byte-identical token shards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llamapipe.engine import run_stage
from llamapipe.engine.state import read_markers
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.stages import build_token_stages
from tests.tokenizer.tokenizer_realdata import (
    SEED,
    build_ingest,
    c4_docs,
    small_mix_config,
    small_tokenizer_config,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

#: Runs in the child: the c4 encode stage of the prepared run, in-process, until killed.
CHILD = """
import sys
from pathlib import Path
from tests.tokenizer.tokenizer_realdata import SEED, small_mix_config, small_tokenizer_config
from llamapipe.engine import run_stage
from llamapipe.tokenizer.stages import build_token_stages
run_dir = Path(sys.argv[1])
stages = build_token_stages(run_dir, small_mix_config(), small_tokenizer_config(vocab_size=2000),
                            ["c4"], SEED)
spec = next(s for s in stages if s.name == "tokens/sources/c4")
run_stage(spec, run_dir, executor="inprocess", seed=SEED)
"""


def _outputs(stage_dir: Path) -> dict[str, bytes]:
    """Every output file of the stage (not the engine's bookkeeping, which holds timings)."""
    return {
        str(p.relative_to(stage_dir)): p.read_bytes()
        for p in sorted(stage_dir.rglob("*"))
        if p.is_file()
        and p.relative_to(stage_dir).parts[0] not in ("_done", ".tmp")
        and p.name not in ("manifest.json", "stats.json")
    }


@pytest.mark.slow
def test_killed_encode_resumes_to_byte_identical_shards(realdata, tmp_path):
    run_dir = tmp_path / "run"
    build_ingest(run_dir, "c4", c4_docs(realdata, 300), per_shard=4)  # 75 shards
    stages = build_token_stages(
        run_dir, small_mix_config(), small_tokenizer_config(vocab_size=2000), ["c4"], SEED
    )
    by_name = {s.name: s for s in stages}
    for name in (layout.INDEX_STAGE, layout.TOKENIZER_STAGE):
        run_stage(by_name[name], run_dir, executor="inprocess", seed=SEED)
    spec = by_name[layout.source_stage("c4")]
    stage_dir = run_dir / spec.name
    total = len(spec.plan())

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(read_markers(stage_dir)) < 3:
            assert child.poll() is None, "the encode finished or crashed before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    done_at_kill = len(read_markers(stage_dir))
    assert 3 <= done_at_kill < total, "the kill must land mid-stage"

    resumed = run_stage(spec, run_dir, executor="inprocess", seed=SEED)
    assert resumed.shards_run == total - done_at_kill  # finished shards were not redone
    after_resume = _outputs(stage_dir)

    # from scratch, on the process pool: the executor must not change a byte either
    shutil.rmtree(stage_dir)
    rebuilt = run_stage(spec, run_dir, executor="pool", workers=2, seed=SEED)
    assert rebuilt.shards_run == total
    clean = _outputs(stage_dir)
    assert sorted(after_resume) == sorted(clean)
    assert len([k for k in clean if k.endswith(".bin")]) == 2 * total
    for name, data in clean.items():
        assert after_resume[name] == data, f"{name} differs after a kill and resume"
