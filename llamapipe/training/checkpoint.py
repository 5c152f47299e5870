"""Distributed checkpoints (DCP) of a training run, and loading them for inference.

A checkpoint is a directory `checkpoints/step_NNNNNN/` holding
- the DCP shards (`*.distcp`, `.metadata`) of the Stateful pieces listed in
  llamapipe/training/state.py: model, optimizer, learning-rate scheduler, data loader and each
  rank's RNG; written by every rank in parallel, reshardable on load to any world size or mesh;
- `trainer_state.json`: step, tokens seen, world size, lineage (rank independent, readable
  without torch; its presence marks the checkpoint complete);
- `model_args.json`: the model's shape, so a checkpoint is self-describing.

Checkpoints written before the scheduler, loader and RNG moved into the DCP files kept the first
two in trainer_state.json and the RNG in `rng/rank_NNNNN.pt`; they still load (see
`_load_legacy_pieces`).

It is written under `step_NNNNNN.tmp/` and renamed when complete (trainer_state.json last), so a
directory without `.tmp` is always whole: a run killed mid-save resumes from the previous one.

An async save is published (renamed into place) by a background thread of rank 0 as soon as its
files are written, not at the next save: a kill at any moment after that resumes from it. Rank
0's DCP future completing is enough to know that every rank is done: DCP's finish step writes
`.metadata` on rank 0 only after gathering every rank's write results (each rank writes and
fsyncs its own files, and its rng file, before it takes part in that gather).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.stateful import Stateful

from llamapipe.model.args import ModelArgs
from llamapipe.model.transformer import Transformer, build_transformer
from llamapipe.training.state import (
    MODEL,
    OPTIM,
    RNG,
    ModelState,
    OptimizerState,
    RNGState,
    rank_key,
    set_rng_state,
)

TRAINER_STATE = "trainer_state.json"
MODEL_ARGS = "model_args.json"
STEP_PREFIX = "step_"


def checkpoint_dir_name(step: int) -> str:
    return f"{STEP_PREFIX}{step:06d}"


def _checkpoints_root(train_dir: Path) -> Path:
    train_dir = Path(train_dir)
    return train_dir if train_dir.name == "checkpoints" else train_dir / "checkpoints"


def list_checkpoints(train_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (accepts the run's train/<size> dir or checkpoints/)."""
    root = _checkpoints_root(train_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if not path.is_dir() or not path.name.startswith(STEP_PREFIX) or path.suffix == ".tmp":
            continue
        if not (path / TRAINER_STATE).exists():
            continue
        try:
            step = int(path.name[len(STEP_PREFIX) :])
        except ValueError:
            continue
        found.append((step, path))
    return [path for _, path in sorted(found)]


def latest_checkpoint(train_dir: Path) -> Path | None:
    """The newest complete checkpoint under train_dir, or None."""
    found = list_checkpoints(train_dir)
    return found[-1] if found else None


def read_trainer_state(checkpoint_dir: Path) -> dict[str, Any]:
    path = Path(checkpoint_dir) / TRAINER_STATE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read trainer state: {exc}") from exc


class CheckpointManager:
    """Saves (optionally in the background) and restores training checkpoints."""

    def __init__(
        self,
        root: Path,
        model_args: ModelArgs,
        keep: int = 3,
        async_save: bool = True,
    ) -> None:
        self.root = Path(root)
        self.model_args = model_args
        self.keep = keep
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        # async_save on the default gloo group interleaves its collectives with training's
        # and aborts with a collective mismatch: it gets a group of its own.
        self.group = dist.new_group(backend="gloo") if async_save else None
        self.async_save = async_save
        self._pending: tuple[Future, Path, Path, dict[str, Any]] | None = None
        self._publisher: threading.Thread | None = None
        self._publish_error: BaseException | None = None
        if self.rank == 0 and self.root.is_dir():
            # Left by a run killed mid-save; never complete, never loaded.
            for partial in self.root.glob(f"{STEP_PREFIX}*.tmp"):
                shutil.rmtree(partial, ignore_errors=True)
        if dist.is_initialized():
            dist.barrier()

    def save(
        self,
        step: int,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        trainer_state: dict[str, Any],
        pieces: Mapping[str, Stateful] | None = None,
    ) -> Path:
        """Start writing the checkpoint of `step`; returns its final path.

        Model, optimizer and this rank's RNG are always saved; `pieces` adds more Stateful
        objects under their keys (the trainer's scheduler and data loader). Every piece's state
        is taken now, before this returns, even when the files are written in the background.
        """
        self.wait()
        final = self.root / checkpoint_dir_name(step)
        tmp = final.with_name(final.name + ".tmp")
        if self.rank == 0:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
        if dist.is_initialized():
            dist.barrier()
        state = _stateful_pieces(model, optimizer, self.rank, pieces)
        if self.async_save:
            future = dcp.async_save(state, checkpoint_id=str(tmp), process_group=self.group)
            if not isinstance(future, Future):  # AsyncSaveResponse
                future = future.upload_completion
            self._pending = (future, tmp, final, dict(trainer_state))
            if self.rank == 0:
                # Not a daemon: a checkpoint whose files are written is published even when
                # training fails right after (the interpreter joins the thread at exit).
                self._publisher = threading.Thread(
                    target=self._publish_when_written,
                    args=self._pending,
                    name=f"publish-{final.name}",
                )
                self._publisher.start()
        else:
            dcp.save(state, checkpoint_id=str(tmp))
            self._finalize(tmp, final, trainer_state)
        return final

    def wait(self) -> None:
        """Block until a background save has finished and has been published."""
        if self._pending is None:
            return
        future, *_ = self._pending
        self._pending = None
        if self._publisher is not None:
            self._publisher.join()
            self._publisher = None
            error, self._publish_error = self._publish_error, None
            if error is not None:
                raise error
        else:  # ranks > 0: their part is written when their future is done
            future.result()

    def _publish_when_written(
        self, future: Future, tmp: Path, final: Path, trainer_state: dict[str, Any]
    ) -> None:
        try:
            future.result()
            self._finalize(tmp, final, trainer_state)
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait() in the main thread
            self._publish_error = exc

    def _finalize(self, tmp: Path, final: Path, trainer_state: dict[str, Any]) -> None:
        if self.rank == 0:
            self.model_args.save(tmp / MODEL_ARGS)
            _write_synced(tmp / TRAINER_STATE, json.dumps(trainer_state, indent=2) + "\n")
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            _fsync_dir(self.root)
            for old in list_checkpoints(self.root)[: -self.keep]:
                shutil.rmtree(old, ignore_errors=True)

    def load(
        self,
        checkpoint_dir: Path,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None,
        pieces: Mapping[str, Stateful] | None = None,
    ) -> dict[str, Any]:
        """Restore what `save` wrote (see load_training_checkpoint)."""
        return load_training_checkpoint(checkpoint_dir, model, optimizer, self.rank, pieces)

    def close(self) -> None:
        self.wait()
        if self.group is not None:
            dist.destroy_process_group(self.group)
            self.group = None


def _stateful_pieces(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    rank: int,
    pieces: Mapping[str, Stateful] | None,
) -> dict[str, Stateful]:
    state: dict[str, Stateful] = {MODEL: ModelState(model)}
    if optimizer is not None:
        state[OPTIM] = OptimizerState(model, optimizer)
    state[RNG] = RNGState(rank)
    for key, piece in (pieces or {}).items():
        if key in state:
            raise ValueError(f"checkpoint piece {key!r} is saved already")
        state[key] = piece
    return state


def saved_keys(checkpoint_dir: Path) -> set[str]:
    """The flattened names DCP wrote into `checkpoint_dir` ("model.norm.weight", ...)."""
    reader = dcp.FileSystemReader(str(checkpoint_dir))
    return set(reader.read_metadata().state_dict_metadata)


def _has_piece(keys: set[str], name: str) -> bool:
    return any(key == name or key.startswith(name + ".") for key in keys)


def load_training_checkpoint(
    checkpoint_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    rank: int = 0,
    pieces: Mapping[str, Stateful] | None = None,
) -> dict[str, Any]:
    """Load a checkpoint written by any world size into model, optimizer and `pieces` (the
    Stateful objects given to save), and this rank's RNG when the checkpoint has one saved by
    a rank of this number. Returns trainer_state.json.

    DCP restores its Stateful values in sorted key order: "optim" before "scheduler", so the
    scheduler's recomputed learning rate wins over the one stored with the optimizer.
    """
    checkpoint_dir = Path(checkpoint_dir)
    trainer_state = read_trainer_state(checkpoint_dir)
    keys = saved_keys(checkpoint_dir)
    state = _stateful_pieces(model, optimizer, rank, pieces)
    legacy = {name: state.pop(name) for name in list(state) if not _has_piece(keys, name)}
    if RNG not in legacy:
        parts = tuple(p for p in ("torch", "cuda") if f"{RNG}.{rank_key(rank)}.{p}" in keys)
        # None when saved by fewer ranks than load it: this rank keeps its generator.
        state[RNG] = RNGState(rank, parts)
        if not parts:
            del state[RNG]
    dcp.load(state, checkpoint_id=str(checkpoint_dir))
    _load_legacy_pieces(checkpoint_dir, trainer_state, legacy, rank)
    return trainer_state


def _load_legacy_pieces(
    checkpoint_dir: Path, trainer_state: dict[str, Any], missing: dict[str, Stateful], rank: int
) -> None:
    """Pieces that are not in the DCP files: where older checkpoints kept them (the RNG in
    rng/rank_NNNNN.pt, scheduler and loader in trainer_state.json), else a one-line error."""
    for name, piece in missing.items():
        if name == RNG:
            rng_file = checkpoint_dir / "rng" / f"{rank_key(rank)}.pt"
            if rng_file.exists():
                set_rng_state(torch.load(rng_file, weights_only=False))
        elif name in trainer_state:
            piece.load_state_dict(trainer_state[name])
        else:
            raise ValueError(
                f"{checkpoint_dir}: the checkpoint has no {name!r} state, neither in its DCP "
                f"files nor in {TRAINER_STATE}"
            )


def load_model_for_inference(
    checkpoint_dir: Path, device: str | torch.device = "cpu"
) -> tuple[Transformer, ModelArgs]:
    """The model of a training checkpoint, in one process, without a process group.

    Works whatever world size and mesh wrote the checkpoint (DCP reshards on read).
    """
    checkpoint_dir = Path(checkpoint_dir)
    args_path = checkpoint_dir / MODEL_ARGS
    if not args_path.exists():
        raise FileNotFoundError(f"{args_path}: not a llamapipe checkpoint (no {MODEL_ARGS})")
    args = ModelArgs.load(args_path)
    if args.attention == "xformers" and torch.device(device).type != "cuda":
        args = replace(args, attention="sdpa")  # same weights; xformers has no CPU kernel
    model = build_transformer(args, device="meta")
    model.to_empty(device=device)
    state = {"model": model.state_dict()}
    with warnings.catch_warnings():
        # DCP warns that it assumes a single process: that is the point here.
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.load(state, checkpoint_id=str(checkpoint_dir), no_dist=True)
    model.load_state_dict(state["model"])
    model.eval()
    return model, args


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (a power loss must not undo a publish)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
