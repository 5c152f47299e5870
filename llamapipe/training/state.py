"""What a training checkpoint holds, as `Stateful` objects that DCP saves and restores in place.

DCP (torch.distributed.checkpoint) calls `state_dict()` on each Stateful value of the dict it is
given, writes the result, and on load fills the same structure from disk and hands it to
`load_state_dict()`. llamapipe/training/checkpoint.py puts these under the keys below; the data
loader (llamapipe/training/data.py, TokenBatchLoader) is Stateful by itself.

    model      ModelState       parameters, sharded as FSDP/TP hold them, under Meta's names
    optim      OptimizerState   AdamW moments and step counts, keyed by parameter name
    scheduler  SchedulerState   the position in the learning-rate schedule
    loader     TokenBatchLoader samples consumed (one number for the whole job)
    rng        RNGState         this rank's torch (and CUDA) generator, under rank_NNNNN
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.checkpoint.stateful import Stateful
from torch.optim.lr_scheduler import LambdaLR

MODEL, OPTIM, SCHEDULER, LOADER, RNG = "model", "optim", "scheduler", "loader", "rng"


class ModelState(Stateful):
    """The model's parameters as DCP's state-dict helpers give them (sharded, FQN keys)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def state_dict(self) -> dict[str, Any]:
        return get_model_state_dict(self.model)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        set_model_state_dict(self.model, state_dict)


class OptimizerState(Stateful):
    """The optimizer's state keyed by parameter name, so it reshards with the model."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model = model
        self.optimizer = optimizer

    def state_dict(self) -> dict[str, Any]:
        return get_optimizer_state_dict(self.model, self.optimizer)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        set_optimizer_state_dict(self.model, self.optimizer, state_dict)


class SchedulerState(Stateful):
    """The position in the schedule, not the schedule itself.

    The schedule's shape (warmup, total steps) comes from this run's config, so that a resumed
    run whose max_steps was raised follows the extended schedule; the learning rate of every
    parameter group is recomputed from it at the restored position.
    """

    def __init__(self, scheduler: LambdaLR) -> None:
        self.scheduler = scheduler

    def state_dict(self) -> dict[str, Any]:
        state = self.scheduler.state_dict()
        state.pop("lr_lambdas", None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        scheduler = self.scheduler
        state = dict(state_dict)
        state["lr_lambdas"] = [None] * len(scheduler.lr_lambdas)  # keep this run's functions
        scheduler.load_state_dict(state)
        groups = scheduler.optimizer.param_groups
        for group, base_lr, schedule in zip(
            groups, scheduler.base_lrs, scheduler.lr_lambdas, strict=True
        ):
            group["lr"] = base_lr * schedule(scheduler.last_epoch)


class RNGState(Stateful):
    """One rank's random generators, under a key of its own (`rank_NNNNN`).

    Every rank writes its own key, so DCP keeps them all (equal keys would be deduplicated to
    one rank's copy). A rank restores the state saved by the rank of the same number, when the
    checkpoint has one (see checkpoint.py: a run resumed on more ranks keeps the new ranks'
    generators as they are).
    """

    def __init__(self, rank: int, parts: tuple[str, ...] | None = None) -> None:
        self.key = rank_key(rank)
        #: On load, the generators the checkpoint has (a CPU run saved no "cuda" one).
        self.parts = parts

    def state_dict(self) -> dict[str, Any]:
        state = rng_state()
        if self.parts is not None:
            state = {part: state[part] for part in self.parts if part in state}
        return {self.key: state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        set_rng_state(state_dict[self.key])


def rank_key(rank: int) -> str:
    return f"rank_{rank:05d}"


def rng_state() -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
