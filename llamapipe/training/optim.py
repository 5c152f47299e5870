"""AdamW with the paper's settings and its warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR


def parameter_groups(
    model: nn.Module, weight_decay: float, decay_on: str
) -> list[dict[str, object]]:
    """Two AdamW groups: decayed and not. "matrices" exempts 1-D parameters (the norm gains)."""
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        if decay_on == "all" or param.ndim >= 2:
            decay.append(param)
        else:
            no_decay.append(param)
    groups: list[dict[str, object]] = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(
    model: nn.Module,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-5,
    weight_decay: float = 0.1,
    decay_on: str = "matrices",
) -> torch.optim.AdamW:
    # The fused kernel updates each tensor in one pass (5x faster than foreach on CPU).
    return torch.optim.AdamW(
        parameter_groups(model, weight_decay, decay_on), lr=lr, betas=betas, eps=eps, fused=True
    )


def lr_multiplier(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Fraction of the peak rate at optimizer step `step` (0-based).

    Linear warmup to the peak over `warmup_steps` (step 0 already trains, at 1/warmup), then a
    half cosine from the peak down to `min_ratio` at `total_steps`, flat afterwards.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """Picklable schedule function for LambdaLR (a lambda would not be)."""

    def __init__(self, warmup_steps: int, total_steps: int, min_ratio: float) -> None:
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_ratio = min_ratio

    def __call__(self, step: int) -> float:
        return lr_multiplier(step, self.warmup_steps, self.total_steps, self.min_ratio)


def build_scheduler(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, min_ratio: float
) -> LambdaLR:
    return LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, min_ratio))
