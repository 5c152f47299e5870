"""The GPU check: llamapipe's GPU training path in one prepared run, results in one JSON.

On a lent GPU machine (README "GPU check"), under that machine's own python3 and torch:

    PYTHONPATH=. python3 bench/gpu_check.py --out $OUT/gpu_check.json

and on CPU, to check the script itself (tiny shapes, compile with aot_eager, CUDA tests skipped):

    PYTHONPATH=. python3 bench/gpu_check.py --dry-run --out /tmp/gpu_check.json

Parts run in this order, each in its own process under its own time limit, inside one budget
(default 400 s, so the whole run ends within 7 minutes); a part that fails or runs out of time is
recorded and the next one starts. See bench/gpu_check_schema.py for the parts and the report.

- matmul: the bf16 matmul rate measured on this GPU (the second peak MFU is reported against);
- cuda_tests: `pytest -m cuda tests/cuda` (bf16 FSDP2 vs fp32, flash vs naive attention,
  selective AC, compile, DCP resume, KV-cache generation), each test's outcome in the JSON;
- train steps of the ~1B model (bench/bench_train_step.py's CUDA_SETUP shapes, bf16 FSDP2 on one
  GPU): eager, compiled, compiled + selective AC, eager + selective AC, xformers (if it imports),
  and Hugging Face LlamaForCausalLM (SDPA) on the same weights; tokens/s, MFU against the
  data-sheet peak (989 TFLOP/s on H100/H200) and the measured matmul rate, peak memory, and
  the kernels that take the time (torch.profiler).

Imports the standard library and torch here; the parts import llamapipe's model and training
modules (torch only), transformers (hf_sdpa only) and pytest (cuda_tests only), each reported
"unavailable" when missing. The report is written after every part, so a run killed from
outside still leaves what it measured. Exit status 0 when every part ended ok or unavailable.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python3 bench/gpu_check.py` without PYTHONPATH=.
    sys.path.insert(0, str(REPO_ROOT))

from bench.gpu_check_schema import (  # noqa: E402
    OURS_VARIANTS,
    PARTS,
    SCHEMA,
    STATUSES,
    summarize,
    validate_report,
)

DEFAULT_BUDGET_S = 400.0
DRY_RUN_BUDGET_S = 240.0
#: Packages whose versions the report records (read from their metadata, never imported here).
PACKAGES = ("torch", "numpy", "triton", "transformers", "xformers", "pytest")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report path (default $OUT/gpu_check.json when OUT is set, else ./gpu_check.json)",
    )
    parser.add_argument("--dry-run", action="store_true", help="CPU: tiny shapes, few steps")
    parser.add_argument("--budget-s", type=float, default=None, help="whole run's time limit")
    parser.add_argument("--parts", default=None, help=f"comma-separated subset of {list(PARTS)}")
    parser.add_argument("--batch", type=int, default=None, help="sequences per step (GPU: 4)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (GPU: 3)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (GPU: 10)")
    parser.add_argument(
        "--compile-backend",
        default=None,
        help="torch.compile backend (inductor; dry run aot_eager)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the torch.profiler pass")
    parser.add_argument("--commit", default=None, help="the llamapipe commit, for the report")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part-out", type=Path, default=None, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    dry = opts.dry_run
    opts.budget_s = opts.budget_s or (DRY_RUN_BUDGET_S if dry else DEFAULT_BUDGET_S)
    opts.warmup = opts.warmup if opts.warmup is not None else (1 if dry else 3)
    opts.steps = opts.steps or (2 if dry else 10)
    opts.compile_backend = opts.compile_backend or ("aot_eager" if dry else "inductor")
    if opts.out is None:
        out_dir = os.environ.get("OUT")
        opts.out = Path(out_dir) / "gpu_check.json" if out_dir else Path("gpu_check.json")
    selected = opts.parts.split(",") if opts.parts else list(PARTS)
    unknown = sorted(set(selected) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; known: {list(PARTS)}")
    opts.selected = selected
    return opts


def _forwarded(opts: argparse.Namespace) -> list[str]:
    """The options a part process needs, as command-line arguments."""
    args = ["--warmup", str(opts.warmup), "--steps", str(opts.steps)]
    args += ["--compile-backend", opts.compile_backend]
    if opts.batch:
        args += ["--batch", str(opts.batch)]
    if opts.dry_run:
        args.append("--dry-run")
    if opts.no_profile:
        args.append("--no-profile")
    return args


# ----------------------------------------------------------------------- one part (a child)


def run_part(opts: argparse.Namespace) -> int:
    """Child process: run one part and write its dict to --part-out (also while it runs)."""
    import torch

    from bench import gpu_check_parts as parts

    if opts.dry_run:
        torch.set_num_threads(1)  # tiny shapes: a second thread only adds contention
    out: Path = opts.part_out

    def emit(result: dict[str, Any]) -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, default=str))
        tmp.replace(out)

    s = parts.shapes(opts.dry_run, opts.batch)
    if opts.part == "matmul":
        result = parts.part_matmul(opts.dry_run, s, emit)
    elif opts.part == "hf_sdpa":
        result = parts.part_train_hf(s, opts, emit)
    elif opts.part in OURS_VARIANTS:
        compile_blocks, ac, attention = OURS_VARIANTS[opts.part]
        result = parts.part_train_ours(s, compile_blocks, ac, attention, opts, emit)
    else:
        raise SystemExit(f"--part {opts.part!r}: not a part run in-process")
    result["status"] = "ok"
    emit(result)
    return 0


# ------------------------------------------------------------------------- the orchestrator


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _command_output(cmd: list[str], timeout: float = 20) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None


def environment() -> dict[str, Any]:
    """Python, torch and the device, as this process sees them."""
    import torch

    cuda = torch.cuda.is_available()
    device: dict[str, Any] = {"type": "cuda" if cuda else "cpu"}
    if cuda:
        props = torch.cuda.get_device_properties(0)
        device.update(
            name=torch.cuda.get_device_name(0),
            count=torch.cuda.device_count(),
            capability=f"{props.major}.{props.minor}",
            multiprocessors=props.multi_processor_count,
            memory_gib=props.total_memory / 2**30,
        )
        smi = _command_output(
            [
                "nvidia-smi",
                "--query-gpu=driver_version,clocks.max.sm,power.limit",
                "--format=csv,noheader",
            ]
        )
        fields = [f.strip() for f in smi.splitlines()[0].split(",")] if smi else []
        device["driver"] = fields[0] if fields else None
        device["max_sm_clock"] = fields[1] if len(fields) > 1 else None
        device["power_limit"] = fields[2] if len(fields) > 2 else None
    else:
        device.update(name=platform.processor() or platform.machine(), driver=None)
        device["cores"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "nccl": ".".join(map(str, torch.cuda.nccl.version())) if cuda else None,
        "packages": {name: _version(name) for name in PACKAGES},
        "device": device,
    }


def _commit(opts: argparse.Namespace) -> str | None:
    if opts.commit:
        return opts.commit
    return _command_output(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], timeout=5)


def new_report(opts: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    from bench.gpu_check_parts import setup_summary, shapes
    from llamapipe.training.metrics import GPU_PEAK_FLOPS

    env = environment()
    name = env["device"]["name"] if env["device"]["type"] == "cuda" else ""
    datasheet = next((f for frag, f in GPU_PEAK_FLOPS.items() if frag in name), None)
    return {
        "schema": SCHEMA,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.executable).name, *argv]),
        "argv": argv,
        "commit": _commit(opts),
        "dry_run": opts.dry_run,
        "budget_s": opts.budget_s,
        "elapsed_s": 0.0,
        "environment": env,
        "peak_flops": {"datasheet_bf16": datasheet, "measured_matmul_bf16": None},
        "setup": setup_summary(shapes(opts.dry_run, opts.batch), opts.warmup, opts.steps),
        "parts": {},
        "summary": {},
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n")
    tmp.replace(path)


def _child_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    paths = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _run_child(cmd: list[str], timeout: float, log) -> tuple[int | None, str]:
    """Run cmd in its own process group; on timeout kill the group (compile workers too).
    Returns (exit status or None on timeout, its whole output)."""
    log.write(f"\n$ {shlex.join(cmd)}\n")
    log.flush()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile(mode="w+") as capture:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=_child_env(),
            stdout=capture,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
        capture.seek(0)
        output = capture.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output += f"\n[gpu_check] child CPU time {cpu:.1f} s\n"
    log.write(output)
    log.flush()
    return rc, output


def _reason(tail: str) -> str:
    """The child's last line of output (an exception's message), not this script's own note."""
    lines = [ln for ln in tail.splitlines() if ln.strip() and not ln.startswith("[gpu_check]")]
    return lines[-1][:500] if lines else "no output"


def run_tests_part(opts: argparse.Namespace, timeout: float, log) -> dict[str, Any]:
    """`pytest -m cuda tests/cuda` in a child; every test's outcome from its JUnit XML."""
    if importlib.util.find_spec("pytest") is None:
        return {
            "status": "unavailable",
            "reason": "pytest is not installed for this python: the CUDA tests did not run",
        }
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "cuda_tests.xml"
        cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "tests/cuda", "-v", "-rA"]
        cmd += ["-p", "no:cacheprovider", f"--junitxml={xml}"]
        rc, output = _run_child(cmd, timeout, log)
        # Killed at its limit, pytest writes no XML: the verbose lines say what had finished.
        cases = _junit_cases(xml) if xml.exists() else _verbose_cases(output)
    tail = output[-3000:]
    counts = {k: sum(c["outcome"] == k for c in cases) for k in ("passed", "failed", "skipped")}
    result: dict[str, Any] = {
        "command": "python3 -m pytest -m cuda tests/cuda",
        "exit_code": rc,
        **counts,
        "errors": sum(c["outcome"] == "error" for c in cases),
        "cases": cases,
    }
    if rc is None:
        result.update(status="timeout", reason=f"pytest still running after {timeout:.0f} s")
    elif rc not in (0, 1) or not cases:
        result.update(status="failed", reason=f"pytest exit {rc}: {_reason(tail)}", log_tail=tail)
    elif counts["failed"] or result["errors"]:
        bad = [c["name"] for c in cases if c["outcome"] in ("failed", "error")]
        result.update(status="failed", reason=f"failing: {', '.join(bad)}", log_tail=tail)
    elif counts["skipped"] and not opts.dry_run:
        result.update(
            status="failed",
            reason="CUDA tests skipped on the GPU run: "
            + (cases[0].get("message") or "no reason given"),
        )
    else:
        result["status"] = "ok"
        if counts["skipped"]:
            result["note"] = "all skipped, as they must be without a GPU (dry run)"
    return result


def _verbose_cases(output: str) -> list[dict[str, Any]]:
    outcomes = {"PASSED": "passed", "FAILED": "failed", "SKIPPED": "skipped", "ERROR": "error"}
    cases = []
    for match in re.finditer(
        r"^(tests/cuda/\S+\.py)::(\S+) (PASSED|FAILED|SKIPPED|ERROR)", output, re.M
    ):
        module = match[1].removesuffix(".py").replace("/", ".")
        cases.append(
            {
                "name": f"{module}::{match[2]}",
                "outcome": outcomes[match[3]],
                "time_s": None,
                "message": "from pytest's verbose output (no JUnit XML: it was stopped)",
            }
        )
    return cases


def _junit_cases(path: Path) -> list[dict[str, Any]]:
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", None
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or child.text or "")[:500]
                break
        cases.append(
            {
                "name": f"{case.get('classname')}::{case.get('name')}",
                "outcome": outcome,
                "time_s": float(case.get("time") or 0.0),
                "message": message,
            }
        )
    return cases


def run_measuring_part(name: str, opts: argparse.Namespace, timeout: float, log) -> dict[str, Any]:
    if name == "hf_sdpa" and importlib.util.find_spec("transformers") is None:
        return {"status": "unavailable", "reason": "transformers is not installed here"}
    if name == "ours_xformers" and importlib.util.find_spec("xformers") is None:
        return {
            "status": "unavailable",
            "reason": "xformers is not installed here (no wheel for this torch was carried)",
        }
    with tempfile.TemporaryDirectory() as tmp:
        part_out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--part", name]
        cmd += ["--part-out", str(part_out), *_forwarded(opts)]
        rc, output = _run_child(cmd, timeout, log)
        result = json.loads(part_out.read_text()) if part_out.exists() else {}
    tail = output[-3000:]
    if rc is None:
        phase = result.get("phase", "start-up")
        result.update(
            status="timeout", reason=f"still in {phase} after {timeout:.0f} s", log_tail=tail
        )
    elif rc != 0 or result.get("status") != "ok":
        reason = _reason(tail)
        status = "unavailable" if name == "ours_xformers" and "ImportError" in tail else "failed"
        result.update(status=status, reason=f"exit {rc}: {reason}", log_tail=tail)
    return result


def run_all(opts: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + opts.budget_s
    report = new_report(opts, argv)
    write_report(report, opts.out)
    log_path = opts.out.with_suffix(".log")
    with log_path.open("w") as log:
        for name, (gpu_cap, dry_cap, least) in PARTS.items():
            remaining = deadline - time.monotonic()
            cap = dry_cap if opts.dry_run else gpu_cap
            part_start = time.monotonic()
            if name not in opts.selected:
                result = {"status": "skipped", "reason": "not selected with --parts"}
            elif remaining < least:
                result = {
                    "status": "skipped",
                    "reason": f"budget: {remaining:.0f} s left of {opts.budget_s:.0f} s, "
                    f"needs {least:.0f}",
                }
            else:
                timeout = min(cap, remaining)
                print(f"[gpu_check] {name} (limit {timeout:.0f} s) ...", flush=True)
                if name == "cuda_tests":
                    result = run_tests_part(opts, timeout, log)
                else:
                    result = run_measuring_part(name, opts, timeout, log)
            assert result["status"] in STATUSES, result
            result["elapsed_s"] = time.monotonic() - part_start
            report["parts"][name] = result
            report["elapsed_s"] = time.monotonic() - started
            print(f"[gpu_check] {name}: {_one_line(result)}", flush=True)
            write_report(report, opts.out)
    report["summary"] = summarize(report)
    report["elapsed_s"] = time.monotonic() - started
    report["log"] = log_path.name
    report["schema_errors"] = validate_report(report)
    write_report(report, opts.out)
    return report


def _one_line(part: dict[str, Any]) -> str:
    if part["status"] != "ok":
        return f"{part['status']}: {part.get('reason', '')}"
    if "tokens_per_s" in part:
        return (
            f"ok, {part['tokens_per_s']:,.0f} tokens/s, peak {part['peak_memory_gib']:.1f} GiB, "
            f"{part['elapsed_s']:.0f} s"
        )
    if "cases" in part:
        return f"ok, {part['passed']} passed, {part['skipped']} skipped, {part['elapsed_s']:.0f} s"
    if "peak_flops" in part:
        return f"ok, bf16 matmul {part['peak_flops'] / 1e12:.1f} TFLOP/s"
    return "ok"


def print_summary(report: dict[str, Any]) -> None:
    summary = report["summary"]
    print(
        f"\n[gpu_check] {report['environment']['device']['name']}, torch "
        f"{report['environment']['torch']}, {report['elapsed_s']:.0f} s; {summary['note']}"
    )
    print(f"{'variant':28} {'tokens/s':>12} {'MFU sheet':>10} {'MFU mm':>8} {'GiB':>7}")
    for name, row in summary["variants"].items():
        sheet, measured = row["mfu_datasheet"], row["mfu_measured_matmul"]
        print(
            f"{name:28} {row['tokens_per_s']:12,.0f} "
            f"{'-' if sheet is None else f'{100 * sheet:.1f}%':>10} "
            f"{'-' if measured is None else f'{100 * measured:.1f}%':>8} "
            f"{row['peak_memory_gib']:7.2f}"
        )
    for key, target in summary["targets"].items():
        value = target["value"]
        shown = "-" if value is None else f"{value:.3g}"
        print(f"target {key}: {shown} (>= {target['target']}), met: {target['met']}")
    if report["schema_errors"]:
        print(f"SCHEMA ERRORS: {report['schema_errors']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_args(argv)
    if opts.part:
        return run_part(opts)
    report = run_all(opts, [str(Path(sys.argv[0])), *argv])
    print_summary(report)
    print(f"[gpu_check] report: {opts.out}, log: {opts.out.with_suffix('.log')}")
    bad = [n for n, p in report["parts"].items() if p["status"] in ("failed", "timeout")]
    if bad:
        print(f"[gpu_check] not ok: {', '.join(bad)}")
    return 1 if bad or report["schema_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
