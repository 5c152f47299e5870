"""Held-out perplexity per source, on the validation tokens the mix set aside (never trained on).

Each source's validation shards (``<run>/tokens/valid/<source>/*.idx``) are read as one token
stream (documents start with BOS, so document boundaries are visible to the model as in training).
The stream is cut into windows of ``max_seq_len`` input tokens that start every ``stride`` tokens:

- ``stride == max_seq_len`` (default): disjoint windows, every token predicted once; tokens early
  in a window see little context, as in training;
- ``stride < max_seq_len``: sliding windows; in each window only the targets not scored by an
  earlier window count, so every token is still predicted exactly once but with at least
  ``max_seq_len - stride`` tokens of context (lower, "fairer" perplexity, more compute).

Perplexity is token-weighted: exp(total negative log-likelihood / tokens scored), per source and
over all sources together. ``max_tokens`` caps the stream read per source so a CPU run stays short.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from llamapipe.formats.token_shards import TokenShardSet

#: (inputs [B, S], targets [B, S] with -100 = not scored) -> mean loss over the scored targets.
MeanLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Window:
    """Input tokens [start, start + length) of the stream; the last ``scored`` targets count."""

    start: int
    length: int
    scored: int


@dataclass(frozen=True)
class PerplexityResult:
    tokens: int
    nll: float  # summed negative log-likelihood in nats
    windows: int

    @property
    def loss(self) -> float:
        return self.nll / self.tokens if self.tokens else float("nan")

    @property
    def perplexity(self) -> float:
        return math.exp(self.loss) if self.tokens else float("nan")

    def to_dict(self) -> dict:
        return {
            "tokens": self.tokens,
            "windows": self.windows,
            "loss": self.loss,
            "perplexity": self.perplexity,
        }


def plan_windows(num_tokens: int, max_seq_len: int, stride: int) -> Iterator[Window]:
    """Windows covering targets 1..num_tokens-1 exactly once (see module docstring)."""
    if not 1 <= stride <= max_seq_len:
        raise ValueError(f"stride must be in [1, max_seq_len={max_seq_len}], got {stride}")
    scored_until = 0  # targets at stream positions <= scored_until are done
    start = 0
    while scored_until < num_tokens - 1:
        length = min(max_seq_len, num_tokens - 1 - start)
        last_target = start + length
        yield Window(start=start, length=length, scored=last_target - scored_until)
        scored_until = last_target
        start += stride


@torch.inference_mode()
def stream_perplexity(
    forward: Callable[[torch.Tensor], torch.Tensor],
    stream: TokenShardSet,
    *,
    max_seq_len: int,
    stride: int | None = None,
    max_tokens: int | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    mean_loss: MeanLoss | None = None,
) -> PerplexityResult:
    """Token-weighted perplexity of ``forward`` on (the first ``max_tokens`` of) a token stream.

    With ``mean_loss(inputs, targets)`` (e.g. our Transformer's fused output-projection +
    cross-entropy, ``model(x, targets=t)``) the [batch, seq, vocab] logits are never materialised;
    its mean over the scored targets times their count gives the same sum.
    """
    stride = stride or max_seq_len
    total = stream.num_tokens if max_tokens is None else min(stream.num_tokens, max_tokens)
    windows = list(plan_windows(total, max_seq_len, stride))
    nll = 0.0
    scored_tokens = 0
    for first in range(0, len(windows), batch_size):
        batch = windows[first : first + batch_size]
        width = max(w.length for w in batch)
        inputs = torch.zeros((len(batch), width), dtype=torch.long)
        targets = torch.full((len(batch), width), -100, dtype=torch.long)
        for row, window in enumerate(batch):
            ids = torch.from_numpy(
                np.asarray(stream.tokens(window.start, window.length + 1), dtype=np.int64)
            )
            inputs[row, : window.length] = ids[:-1]
            keep = slice(window.length - window.scored, window.length)
            targets[row, keep] = ids[1:][keep]
        scored = sum(w.scored for w in batch)
        if mean_loss is not None:
            nll += float(mean_loss(inputs.to(device), targets.to(device))) * scored
        else:
            logits = forward(inputs.to(device)).float()
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                targets.to(logits.device).reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            nll += float(loss)
        scored_tokens += scored
    return PerplexityResult(tokens=scored_tokens, nll=nll, windows=len(windows))


def validation_sources(tokens_dir: Path) -> dict[str, Path]:
    """Source name -> its validation shard directory, for every source that has shards."""
    valid = Path(tokens_dir) / "valid"
    if not valid.is_dir():
        raise FileNotFoundError(f"{valid}: no validation token shards (run the tokenize stage)")
    return {d.name: d for d in sorted(valid.iterdir()) if d.is_dir() and any(d.glob("*.idx"))}


def heldout_perplexity(
    forward: Callable[[torch.Tensor], torch.Tensor],
    tokens_dir: Path,
    *,
    max_seq_len: int,
    stride: int | None = None,
    max_tokens: int | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    mean_loss: MeanLoss | None = None,
) -> dict[str, dict]:
    """Perplexity per source plus ``"all"`` (token-weighted over sources), as JSON-able dicts."""
    results: dict[str, PerplexityResult] = {}
    for source, directory in validation_sources(tokens_dir).items():
        stream = TokenShardSet.from_directory(directory)
        if stream.num_tokens < 2:
            continue
        results[source] = stream_perplexity(
            forward,
            stream,
            max_seq_len=max_seq_len,
            stride=stride,
            max_tokens=max_tokens,
            batch_size=batch_size,
            device=device,
            mean_loss=mean_loss,
        )
    out = {source: result.to_dict() for source, result in results.items()}
    if results:
        combined = PerplexityResult(
            tokens=sum(r.tokens for r in results.values()),
            nll=sum(r.nll for r in results.values()),
            windows=sum(r.windows for r in results.values()),
        )
        out["all"] = combined.to_dict()
    return out
