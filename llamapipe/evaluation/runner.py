"""Evaluate a checkpoint: held-out perplexity per source and every configured task, into
``<run>/eval/<size>-<checkpoint>/results.json``.

``run_eval`` is what ``llamapipe eval`` and ``llamapipe run`` call. It is idempotent: when
results.json exists for the same checkpoint and the same evaluation settings (a digest of the
[eval] section and the task files), it returns them without recomputing, so a second
``llamapipe run`` does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from llamapipe.config.eval import EvalConfig, EvalTask
from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.loglikelihood import hidden_states
from llamapipe.evaluation.multiple_choice import evaluate_multiple_choice
from llamapipe.evaluation.perplexity import heldout_perplexity
from llamapipe.evaluation.tasks import load_task
from llamapipe.model.args import ModelArgs
from llamapipe.model.transformer import Transformer

RESULTS_FILE = "results.json"


def resolve(path: str | Path, base_dir: str | Path) -> Path:
    """A config path: absolute as is, otherwise relative to pipeline.toml's folder."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else Path(base_dir) / path


def tokenizer_path(cfg: Any) -> Path:
    return cfg.run_dir / "tokenizer" / "tokenizer.model"


def tokens_dir(cfg: Any) -> Path:
    configured = getattr(cfg.train, "tokens_dir", None)
    return resolve(configured, cfg.base_dir) if configured else cfg.run_dir / "tokens"


def find_checkpoint(cfg: Any, size: str | None = None, checkpoint: Path | None = None) -> Path:
    """The checkpoint to use: the given one, else the newest of ``<run>/train/<size>``."""
    from llamapipe.training.checkpoint import latest_checkpoint

    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if not checkpoint.is_dir():
            raise FileNotFoundError(f"{checkpoint}: checkpoint directory not found")
        return checkpoint
    size = size or cfg.train.size
    train_dir = cfg.run_dir / "train" / size
    found = latest_checkpoint(train_dir)
    if found is None:
        raise FileNotFoundError(f"{train_dir}: no complete checkpoint (run `llamapipe train`)")
    return found


def checkpoint_label(checkpoint: Path) -> str:
    """``<size>-step_NNNNNN`` for a run's own checkpoints, else the directory name."""
    checkpoint = Path(checkpoint)
    if checkpoint.parent.name == "checkpoints":
        return f"{checkpoint.parent.parent.name}-{checkpoint.name}"
    return checkpoint.name


def results_path(cfg: Any, checkpoint: Path) -> Path:
    return cfg.run_dir / "eval" / checkpoint_label(checkpoint) / RESULTS_FILE


def checkpoint_fingerprint(checkpoint: Path) -> str:
    """Digest of a checkpoint's files (names, sizes, modification times).

    A rerun of training rewrites ``step_NNNNNN`` under the same name; its files' times change,
    so results computed from the old weights are not reused.
    """
    entries = sorted(
        (str(path.relative_to(checkpoint)), stat.st_size, stat.st_mtime_ns)
        for path in Path(checkpoint).rglob("*")
        if path.is_file()
        for stat in [path.stat()]
    )
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "missing"


def settings_digest(
    eval_cfg: EvalConfig, base_dir: str | Path, tokens: Path, tokenizer: Path | None = None
) -> str:
    """Digest of everything the numbers depend on besides the checkpoint."""
    settings = eval_cfg.model_dump(exclude={"generate", "export", "device"})
    settings["task_files"] = {
        task.name: _file_digest(resolve(task.path, base_dir)) for task in eval_cfg.tasks
    }
    manifest = tokens / "manifest.json"
    settings["tokens_manifest"] = _file_digest(manifest)
    settings["tokenizer"] = _file_digest(tokenizer) if tokenizer is not None else None
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def evaluate_model(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: SentencePieceEncoder,
    eval_cfg: EvalConfig,
    *,
    base_dir: str | Path = ".",
    tokens: Path | None = None,
    tasks: list[EvalTask] | None = None,
) -> dict[str, Any]:
    """Perplexity per source (when ``tokens`` has validation shards) and task accuracies.

    Parameters are frozen while scoring: the fused loss otherwise computes weight gradients
    (its autograd function sees inputs that require grad, even under inference mode).
    """
    frozen = [p for p in model.parameters() if p.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(False)
    try:
        return _evaluate(model, args, encoder, eval_cfg, base_dir, tokens, tasks)
    finally:
        for parameter in frozen:
            parameter.requires_grad_(True)


def _evaluate(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: SentencePieceEncoder,
    eval_cfg: EvalConfig,
    base_dir: str | Path,
    tokens: Path | None,
    tasks: list[EvalTask] | None,
) -> dict[str, Any]:
    device = torch.device(eval_cfg.device)
    model = model.to(device).eval()
    max_seq_len = min(eval_cfg.max_seq_len or args.max_seq_len, args.max_seq_len)

    def forward(batch: torch.Tensor) -> torch.Tensor:
        return model(batch)

    def fused_mean_loss(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return model(inputs, targets=targets)

    is_llama = isinstance(model, Transformer)
    # Multiple choice on our Transformer: hidden states out, vocabulary projection only on the
    # continuation positions (see score_requests).
    score_forward = (lambda batch: hidden_states(model, batch)) if is_llama else forward
    project = model.output if is_llama else None

    results: dict[str, Any] = {"max_seq_len": max_seq_len, "perplexity": {}, "tasks": {}}
    if eval_cfg.perplexity and tokens is not None and (Path(tokens) / "valid").is_dir():
        started = time.perf_counter()
        results["perplexity"] = heldout_perplexity(
            forward,
            Path(tokens),
            max_seq_len=max_seq_len,
            stride=eval_cfg.perplexity_stride,
            max_tokens=eval_cfg.perplexity_max_tokens,
            batch_size=eval_cfg.batch_size,
            device=device,
            mean_loss=fused_mean_loss if is_llama else None,
        )
        results["perplexity_seconds"] = round(time.perf_counter() - started, 3)
    for task in eval_cfg.tasks if tasks is None else tasks:
        started = time.perf_counter()
        data = load_task(resolve(task.path, base_dir), strict=eval_cfg.strict, limit=task.limit)
        result = evaluate_multiple_choice(
            score_forward,
            encoder,
            data.items,
            task_name=task.name,
            schema=data.schema,
            few_shot=task.few_shot,
            seed=eval_cfg.few_shot_seed,
            delimiter=task.delimiter,
            batch_size=eval_cfg.batch_size,
            max_seq_len=max_seq_len,
            device=device,
            skipped=dict(data.skipped),
            project=project,
            shared_context_model=(model, args) if is_llama else None,
            unconditional_norm=task.unconditional_norm,
        )
        entry = result.to_dict()
        entry["path"] = str(data.path)
        entry["seconds"] = round(time.perf_counter() - started, 3)
        results["tasks"][task.name] = entry
    return results


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def run_eval(
    cfg: Any,
    *,
    size: str | None = None,
    checkpoint: Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Evaluate a checkpoint of the run (default: the newest of ``cfg.train.size``).

    Returns the results dict (also written to ``results_path``); reuses an existing results.json
    for the same checkpoint and settings unless ``force``.
    """
    from llamapipe.training.checkpoint import load_model_for_inference, read_trainer_state

    eval_cfg: EvalConfig = cfg.eval
    checkpoint = find_checkpoint(cfg, size, checkpoint)
    tokens = tokens_dir(cfg)
    digest = settings_digest(eval_cfg, cfg.base_dir, tokens, tokenizer_path(cfg))
    fingerprint = checkpoint_fingerprint(checkpoint)
    out = results_path(cfg, checkpoint)
    if not force and out.exists():
        try:
            previous = json.loads(out.read_text())
        except json.JSONDecodeError:
            previous = {}
        if (
            previous.get("settings_digest") == digest
            and previous.get("checkpoint") == str(checkpoint.resolve())
            and previous.get("checkpoint_fingerprint") == fingerprint
        ):
            return previous

    started = time.perf_counter()
    model, args = load_model_for_inference(checkpoint, device=eval_cfg.device)
    encoder = SentencePieceEncoder(tokenizer_path(cfg))
    if encoder.vocab_size > args.vocab_size:
        raise ValueError(
            f"{encoder.path}: tokenizer has {encoder.vocab_size} pieces, more than the model's "
            f"vocab_size {args.vocab_size} ({checkpoint})"
        )
    results = evaluate_model(model, args, encoder, eval_cfg, base_dir=cfg.base_dir, tokens=tokens)
    try:
        step = read_trainer_state(checkpoint).get("step")
    except ValueError:
        step = None
    results = {
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_label": checkpoint_label(checkpoint),
        "checkpoint_fingerprint": fingerprint,
        "step": step,
        "model_args": args.to_dict(),
        "tokenizer": str(encoder.path),
        "settings_digest": digest,
        **results,
        "seconds": round(time.perf_counter() - started, 3),
    }
    _write_json_atomic(out, results)
    return results
