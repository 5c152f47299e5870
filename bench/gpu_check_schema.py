"""The GPU check's JSON: its parts, the summary against the targets, and a schema check.

The report is public (bench/results/ keeps the GPU runs' files): a key is only ever added.
`validate_report` is what CI runs on a `--dry-run` report and what the script runs on its own
output, so a GPU run cannot write a file that later tools cannot read.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

SCHEMA = "llamapipe.gpu_check/1"

#: A part ran and measured ("ok"), broke ("failed"), ran past its limit ("timeout"), was not
#: started for lack of budget or by --parts ("skipped"), or cannot run on this machine
#: ("unavailable": transformers, xformers or pytest missing).
STATUSES = ("ok", "failed", "timeout", "skipped", "unavailable")

#: Train-step variants of llamapipe's model: (compile the blocks, activation checkpointing,
#: attention backend).
OURS_VARIANTS = {
    "ours_eager": (False, "none", "sdpa"),
    "ours_compile": (True, "none", "sdpa"),
    "ours_compile_selective_ac": (True, "selective", "sdpa"),
    "ours_eager_selective_ac": (False, "selective", "sdpa"),
    "ours_xformers": (False, "none", "xformers"),
}
TRAIN_PARTS = (*OURS_VARIANTS, "hf_sdpa")

#: Run order = priority when the budget runs short. (cap on GPU s, cap in a dry run s, least
#: time worth starting it with s.)
PARTS: dict[str, tuple[float, float, float]] = {
    "matmul": (60, 40, 15),
    "cuda_tests": (180, 60, 30),
    "ours_eager": (90, 60, 30),
    "ours_compile": (180, 60, 60),
    "hf_sdpa": (90, 60, 30),
    "ours_compile_selective_ac": (150, 60, 60),
    "ours_eager_selective_ac": (75, 60, 30),
    "ours_xformers": (75, 60, 30),
}

#: The issue's targets: MFU of the compiled ~1B model against the data-sheet bf16 peak, and its
#: tokens/s against Hugging Face's LlamaForCausalLM on the same shapes and weights.
TARGET_MFU = 0.45
TARGET_SPEEDUP_VS_HF = 1.3


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """MFU of every train part against both peaks, and the targets met or not.

    MFU counts model FLOPs only (6 N + 12 L H d S per token), not selective AC's recomputation.
    In a dry run nothing is a measurement: `met` stays None.
    """
    parts = report["parts"]
    datasheet = report["peak_flops"]["datasheet_bf16"]
    matmul = parts.get("matmul", {})
    measured = matmul.get("peak_flops") if matmul.get("status") == "ok" else None
    report["peak_flops"]["measured_matmul_bf16"] = measured
    rows = {}
    for name in TRAIN_PARTS:
        part = parts.get(name, {})
        if part.get("status") != "ok":
            continue
        achieved = part["tokens_per_s"] * part["flops_per_token"]
        part["model_flops_per_s"] = achieved
        part["mfu_datasheet"] = achieved / datasheet if datasheet else None
        part["mfu_measured_matmul"] = achieved / measured if measured else None
        rows[name] = {
            "tokens_per_s": part["tokens_per_s"],
            "mfu_datasheet": part["mfu_datasheet"],
            "mfu_measured_matmul": part["mfu_measured_matmul"],
            "peak_memory_gib": part["peak_memory_gib"],
        }
    dry = report["dry_run"]
    compiled = rows.get("ours_compile", {})
    mfu = compiled.get("mfu_datasheet")
    hf = rows.get("hf_sdpa", {}).get("tokens_per_s")
    speedup = compiled["tokens_per_s"] / hf if compiled and hf else None
    eager = rows.get("ours_eager", {}).get("tokens_per_s")
    return {
        "variants": rows,
        "speedup_eager_vs_hf": eager / hf if eager and hf else None,
        "targets": {
            "mfu_compile": _target(mfu, TARGET_MFU, dry),
            "speedup_compile_vs_hf": _target(speedup, TARGET_SPEEDUP_VS_HF, dry),
        },
        "note": (
            "dry run on CPU: tiny shapes, a few steps; numbers exercise the code, they measure "
            "nothing"
            if dry
            else "measured in one run, one process per part, on the device named above"
        ),
    }


def _target(value: float | None, target: float, dry: bool) -> dict[str, Any]:
    met = None if dry or value is None else value >= target
    return {"value": value, "target": target, "met": met}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_report(report: Any) -> list[str]:
    """Every way `report` departs from the schema, as readable lines ([] when it conforms)."""
    errors: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            errors.append(what)

    if not isinstance(report, dict):
        return ["the report is not a JSON object"]
    need(report.get("schema") == SCHEMA, f"schema is not {SCHEMA!r}")
    try:
        datetime.fromisoformat(str(report.get("date")))
    except ValueError:
        errors.append("date is not an ISO 8601 timestamp")
    need(isinstance(report.get("command"), str) and report["command"], "command missing")
    need(isinstance(report.get("dry_run"), bool), "dry_run is not a boolean")
    need(_is_number(report.get("budget_s")), "budget_s is not a number")
    need(_is_number(report.get("elapsed_s")), "elapsed_s is not a number")
    env = report.get("environment")
    if not isinstance(env, dict):
        errors.append("environment missing")
    else:
        for key in ("python", "torch", "platform"):
            need(isinstance(env.get(key), str), f"environment.{key} is not a string")
        device = env.get("device")
        need(isinstance(device, dict), "environment.device missing")
        if isinstance(device, dict):
            need(device.get("type") in ("cuda", "cpu"), "environment.device.type not cuda/cpu")
            need(isinstance(device.get("name"), str), "environment.device.name missing")
            need("driver" in device, "environment.device.driver missing (null when none)")
    peaks = report.get("peak_flops")
    need(isinstance(peaks, dict) and "datasheet_bf16" in peaks, "peak_flops missing")
    setup = report.get("setup")
    need(isinstance(setup, dict), "setup missing")
    if isinstance(setup, dict):
        for key in ("model_args", "batch", "seq", "warmup_steps", "timed_steps", "parameters"):
            need(key in setup, f"setup.{key} missing")
    parts = report.get("parts")
    if not isinstance(parts, dict):
        return [*errors, "parts missing"]
    for name in PARTS:
        part = parts.get(name)
        if not isinstance(part, dict):
            errors.append(f"parts.{name} missing")
            continue
        status = part.get("status")
        need(status in STATUSES, f"parts.{name}.status {status!r} is not one of {STATUSES}")
        need(_is_number(part.get("elapsed_s")), f"parts.{name}.elapsed_s is not a number")
        if status != "ok":
            need(bool(part.get("reason")), f"parts.{name} is {status} without a reason")
        elif name in TRAIN_PARTS:
            errors.extend(_check_train_part(name, part))
        elif name == "cuda_tests":
            errors.extend(_check_tests_part(part))
        elif name == "matmul":
            need(_is_number(part.get("peak_flops")), "parts.matmul.peak_flops not a number")
    summary = report.get("summary")
    need(isinstance(summary, dict) and "targets" in summary, "summary.targets missing")
    return errors


def _check_train_part(name: str, part: dict[str, Any]) -> list[str]:
    errors = []
    for key in ("tokens_per_s", "step_time_s_median", "flops_per_token", "peak_memory_gib"):
        if not (_is_number(part.get(key)) and part[key] > 0):
            errors.append(f"parts.{name}.{key} is not a positive number")
    losses = part.get("losses")
    if not (isinstance(losses, list) and losses and all(_is_number(x) for x in losses)):
        errors.append(f"parts.{name}.losses is not a list of finite numbers")
    if not isinstance(part.get("profile"), dict | None):
        errors.append(f"parts.{name}.profile is neither an object nor null")
    return errors


def _check_tests_part(part: dict[str, Any]) -> list[str]:
    cases = part.get("cases")
    if not isinstance(cases, list) or not cases:
        return ["parts.cuda_tests.cases is not a non-empty list"]
    errors = []
    for case in cases:
        if not (isinstance(case, dict) and isinstance(case.get("name"), str)):
            errors.append("a parts.cuda_tests case has no name")
        elif case.get("outcome") not in ("passed", "failed", "error", "skipped"):
            errors.append(f"parts.cuda_tests case {case['name']} has no valid outcome")
    for key in ("passed", "failed", "skipped", "errors"):
        if not isinstance(part.get(key), int):
            errors.append(f"parts.cuda_tests.{key} is not an integer")
    return errors
