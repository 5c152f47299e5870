"""Evaluate a checkpoint: held-out perplexity per source and every configured task, into
``<run>/eval/<size>-<checkpoint>/results.json``.

``run_eval`` is what ``llamapipe eval`` and ``llamapipe run`` call. Results accumulate per
checkpoint: each task's entry carries a digest of its settings and file, and a later call
computes only the tasks whose digest changed (or that are new), keeping every other task already
in results.json, even ones no longer configured. When nothing changed it returns the stored
results without loading the model, so a second ``llamapipe run`` does nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from llamapipe.config.eval import EvalConfig, EvalTask
from llamapipe.evaluation.code_tasks import evaluate_code
from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.generative import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_STOPS,
    GenerationSettings,
    evaluate_generative,
)
from llamapipe.evaluation.likelihood_tasks import evaluate_lambada, evaluate_partial
from llamapipe.evaluation.loglikelihood import hidden_states, make_request, score_requests
from llamapipe.evaluation.multiple_choice import evaluate_multiple_choice
from llamapipe.evaluation.perplexity import heldout_perplexity
from llamapipe.evaluation.sandbox import SandboxLimits
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


def _shared_settings(eval_cfg: EvalConfig, tokenizer: Path | None) -> dict[str, Any]:
    """Settings every task's numbers depend on (batch size does not change them)."""
    return {
        "max_seq_len": eval_cfg.max_seq_len,
        "few_shot_seed": eval_cfg.few_shot_seed,
        "strict": eval_cfg.strict,
        "generate_seed": eval_cfg.generate.seed,
        "tokenizer": _file_digest(tokenizer) if tokenizer is not None else None,
    }


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def task_digest(
    task: EvalTask, eval_cfg: EvalConfig, base_dir: str | Path, tokenizer: Path | None
) -> str:
    """Digest of what one task's result depends on besides the checkpoint: its entry, its
    file's bytes and the shared settings. Equal digest: the stored result is reused."""
    return _digest(
        {
            "task": task.model_dump(),
            "file": _file_digest(resolve(task.path, base_dir)),
            **_shared_settings(eval_cfg, tokenizer),
        }
    )


def perplexity_digest(eval_cfg: EvalConfig, tokens: Path, tokenizer: Path | None) -> str:
    return _digest(
        {
            "stride": eval_cfg.perplexity_stride,
            "max_tokens": eval_cfg.perplexity_max_tokens,
            "manifest": _file_digest(Path(tokens) / "manifest.json"),
            **_shared_settings(eval_cfg, tokenizer),
        }
    )


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
    scoring = _Scoring.of(model, args, encoder, eval_cfg.batch_size, max_seq_len, device)

    results: dict[str, Any] = {"max_seq_len": max_seq_len, "perplexity": {}, "tasks": {}}
    if eval_cfg.perplexity and tokens is not None and (Path(tokens) / "valid").is_dir():
        started = time.perf_counter()

        def fused_mean_loss(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return model(inputs, targets=targets)

        results["perplexity"] = heldout_perplexity(
            model,
            Path(tokens),
            max_seq_len=max_seq_len,
            stride=eval_cfg.perplexity_stride,
            max_tokens=eval_cfg.perplexity_max_tokens,
            batch_size=eval_cfg.batch_size,
            device=device,
            mean_loss=fused_mean_loss if scoring.is_llama else None,
        )
        results["perplexity_seconds"] = round(time.perf_counter() - started, 3)
    for task in eval_cfg.tasks if tasks is None else tasks:
        started = time.perf_counter()
        data = load_task(resolve(task.path, base_dir), strict=eval_cfg.strict, limit=task.limit)
        entry = _task_entry(scoring, eval_cfg, task, data)
        entry.setdefault("schema", data.schema)
        entry.setdefault("skipped", dict(data.skipped))
        entry["path"] = str(data.path)
        entry["seconds"] = round(time.perf_counter() - started, 3)
        results["tasks"][task.name] = entry
    return results


@dataclass(frozen=True)
class _Scoring:
    """How one model is scored by the likelihood tasks: on our Transformer, hidden states out
    and the vocabulary projection only on the continuation positions (see score_requests);
    any other module's logits as they are."""

    model: torch.nn.Module
    args: ModelArgs
    encoder: SentencePieceEncoder
    forward: Callable[[torch.Tensor], torch.Tensor]
    project: Callable[[torch.Tensor], torch.Tensor] | None
    is_llama: bool
    device: torch.device
    #: batch_size, max_seq_len and device, as every scorer takes them.
    common: dict[str, Any]

    @classmethod
    def of(
        cls,
        model: torch.nn.Module,
        args: ModelArgs,
        encoder: SentencePieceEncoder,
        batch_size: int,
        max_seq_len: int,
        device: torch.device,
    ) -> _Scoring:
        is_llama = isinstance(model, Transformer)
        return cls(
            model=model,
            args=args,
            encoder=encoder,
            forward=(lambda batch: hidden_states(model, batch)) if is_llama else model,
            project=model.output if is_llama else None,
            is_llama=is_llama,
            device=device,
            common=dict(batch_size=batch_size, max_seq_len=max_seq_len, device=device),
        )

    def score_gold(self, pairs: list[tuple[str, str]]) -> list[tuple[float, int]]:
        """(log-likelihood, tokens) of each reference answer after its prompt."""
        scores = score_requests(
            self.forward,
            [make_request(self.encoder, context, gold) for context, gold in pairs],
            project=self.project,
            **self.common,
        )
        return [(s.logprob, s.num_tokens) for s in scores]


def _task_entry(
    scoring: _Scoring, eval_cfg: EvalConfig, task: EvalTask, data: Any
) -> dict[str, Any]:
    """One task's results, by the kind of task its file holds."""
    if data.kind == "multiple_choice":
        entry = evaluate_multiple_choice(
            scoring.forward,
            scoring.encoder,
            data.items,
            task_name=task.name,
            schema=data.schema,
            few_shot=task.few_shot,
            seed=eval_cfg.few_shot_seed,
            delimiter=task.delimiter,
            skipped=dict(data.skipped),
            project=scoring.project,
            shared_context_model=(scoring.model, scoring.args) if scoring.is_llama else None,
            unconditional_norm=task.unconditional_norm,
            **scoring.common,
        ).to_dict()
        entry.update(kind="multiple_choice", primary="acc")
        return entry
    if data.kind in ("partial", "lambada"):
        scorer = evaluate_partial if data.kind == "partial" else evaluate_lambada
        return scorer(
            scoring.forward,
            scoring.encoder,
            data.items,
            task_name=task.name,
            few_shot=task.few_shot,
            seed=eval_cfg.few_shot_seed,
            project=scoring.project,
            **scoring.common,
        )
    if not scoring.is_llama:
        raise ValueError(f"task {task.name}: generation needs a llamapipe Transformer")
    return _generative_task(
        scoring.model,
        scoring.args,
        scoring.encoder,
        eval_cfg,
        task,
        data,
        scoring.device,
        scoring.score_gold,
    )


def _generative_task(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: SentencePieceEncoder,
    eval_cfg: EvalConfig,
    task: EvalTask,
    data: Any,
    device: torch.device,
    score_gold: Any = None,
) -> dict[str, Any]:
    """QA / GSM8K / MATH (generation + exact match) or code (generation + sandboxed tests)."""
    if data.kind == "code":
        timeout = task.timeout_s
        return evaluate_code(
            model,
            args,
            encoder,
            data.items,
            samples=task.samples,
            ks=task.pass_at,
            temperature=task.temperature or 0.8,
            top_p=task.top_p,
            max_new_tokens=task.max_new_tokens or 256,
            seed=eval_cfg.generate.seed,
            batch_size=eval_cfg.batch_size,
            limits=SandboxLimits(
                wall_s=timeout,
                cpu_s=max(1, math.ceil(timeout)),
                memory_bytes=task.memory_mib * 2**20,
            ),
            device=device,
            score_gold=score_gold,
        )
    settings = GenerationSettings(
        max_new_tokens=task.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[data.kind],
        stops=tuple(task.stop if task.stop is not None else DEFAULT_STOPS[data.kind]),
        samples=task.samples,
        temperature=task.temperature or 0.6,
        top_p=task.top_p,
        seed=eval_cfg.generate.seed,
        batch_size=eval_cfg.batch_size,
    )
    return evaluate_generative(
        model,
        args,
        encoder,
        data.items,
        kind=data.kind,
        task_name=task.name,
        settings=settings,
        few_shot=task.few_shot,
        few_shot_seed=eval_cfg.few_shot_seed,
        device=device,
        score_gold=score_gold,
    )


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

    Returns the results dict (also written to ``results_path``). Results accumulate per
    checkpoint: a task whose entry, file and shared settings are unchanged keeps its stored
    result, tasks no longer configured stay in the file, and only the rest is computed (all of
    it with ``force``). With nothing to compute the model is not even loaded.
    """
    from llamapipe.training.checkpoint import read_trainer_state

    eval_cfg: EvalConfig = cfg.eval
    checkpoint = find_checkpoint(cfg, size, checkpoint)
    tokens = tokens_dir(cfg)
    tokenizer = tokenizer_path(cfg)
    digest = settings_digest(eval_cfg, cfg.base_dir, tokens, tokenizer)
    fingerprint = checkpoint_fingerprint(checkpoint)
    out = results_path(cfg, checkpoint)
    previous = _previous_results(out, checkpoint, fingerprint)
    if not force and previous.get("settings_digest") == digest:
        return previous
    old_tasks = {} if force else dict(previous.get("tasks", {}))
    digests = {t.name: task_digest(t, eval_cfg, cfg.base_dir, tokenizer) for t in eval_cfg.tasks}
    todo = [
        t for t in eval_cfg.tasks if old_tasks.get(t.name, {}).get("task_digest") != digests[t.name]
    ]
    ppl_digest = perplexity_digest(eval_cfg, tokens, tokenizer)
    need_ppl = eval_cfg.perplexity and (force or previous.get("perplexity_digest") != ppl_digest)

    started = time.perf_counter()
    fresh, model_args = _compute_missing(cfg, checkpoint, tokens, tokenizer, todo, need_ppl)
    if fresh is None:  # only the settings digest changed (e.g. a task was removed)
        fresh = {"max_seq_len": previous.get("max_seq_len"), "perplexity": {}, "tasks": {}}
        model_args = previous.get("model_args")
    for name, entry in fresh["tasks"].items():
        entry["task_digest"] = digests[name]
    # Accumulate: tasks evaluated before (with other configs) stay, the ones just run replace
    # theirs; results of a task always come from the current checkpoint (fingerprint above).
    tasks = {**old_tasks, **fresh["tasks"]}
    try:
        step = read_trainer_state(checkpoint).get("step")
    except ValueError:
        step = None
    results = {
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_label": checkpoint_label(checkpoint),
        "checkpoint_fingerprint": fingerprint,
        "step": step,
        "model_args": model_args,
        "tokenizer": str(tokenizer),
        "settings_digest": digest,
        "max_seq_len": fresh.get("max_seq_len"),
        "perplexity": fresh["perplexity"] if need_ppl else previous.get("perplexity", {}),
        "perplexity_digest": ppl_digest if need_ppl else previous.get("perplexity_digest"),
        "tasks": tasks,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if "perplexity_seconds" in fresh:
        results["perplexity_seconds"] = fresh["perplexity_seconds"]
    _write_json_atomic(out, results)
    return results


def _compute_missing(
    cfg: Any,
    checkpoint: Path,
    tokens: Path | None,
    tokenizer: Path,
    todo: list[EvalTask],
    need_ppl: bool,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Load the checkpoint and evaluate the tasks in ``todo`` (and the held-out perplexity when
    ``need_ppl``): (results, model args), or (None, None) when there is nothing to compute."""
    from llamapipe.training.checkpoint import load_model_for_inference

    if not todo and not need_ppl:
        return None, None
    eval_cfg: EvalConfig = cfg.eval
    model, args = load_model_for_inference(checkpoint, device=eval_cfg.device)
    encoder = SentencePieceEncoder(tokenizer)
    if encoder.vocab_size > args.vocab_size:
        raise ValueError(
            f"{encoder.path}: tokenizer has {encoder.vocab_size} pieces, more than the "
            f"model's vocab_size {args.vocab_size} ({checkpoint})"
        )
    fresh = evaluate_model(
        model,
        args,
        encoder,
        eval_cfg.model_copy(update={"perplexity": need_ppl}),
        base_dir=cfg.base_dir,
        tokens=tokens,
        tasks=todo,
    )
    return fresh, args.to_dict()


def _previous_results(out: Path, checkpoint: Path, fingerprint: str) -> dict[str, Any]:
    """The stored results of this very checkpoint (same path and files), else {}."""
    if not out.exists():
        return {}
    try:
        previous = json.loads(out.read_text())
    except json.JSONDecodeError:
        return {}
    same = (
        previous.get("checkpoint") == str(checkpoint.resolve())
        and previous.get("checkpoint_fingerprint") == fingerprint
    )
    return previous if same else {}
