"""Log-likelihood of continuations given contexts, batched: the primitive of every MC task.

Tokenization follows lm-evaluation-harness: the continuation's tokens are those of
``encode(context + continuation)`` past the context's own tokens, because SentencePiece adds a
dummy-prefix space to any string it encodes, so encoding the continuation alone would give tokens
the model never sees in running text. When the last context token merges with the continuation's
first characters, the split falls at the longest common prefix of the two encodings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from llamapipe.model.args import ModelArgs
from llamapipe.model.kv_cache import KVCache


class TextEncoder(Protocol):
    """What scoring needs of a tokenizer: ids of a text without BOS/EOS, and the BOS id."""

    bos_id: int

    def encode(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class Request:
    """Tokens of a context and of the continuation whose likelihood we want."""

    context: tuple[int, ...]
    continuation: tuple[int, ...]


@dataclass(frozen=True)
class Score:
    """Sum of log-probabilities of the continuation's tokens, and whether greedy decoding
    would have produced exactly the continuation."""

    logprob: float
    is_greedy: bool
    num_tokens: int


def make_request(encoder: TextEncoder, context: str, continuation: str) -> Request:
    """Split ``encode(context + continuation)`` into context and continuation tokens, BOS first."""
    whole = encoder.encode(context + continuation)
    context_ids = encoder.encode(context) if context else []
    split = 0
    limit = min(len(context_ids), len(whole))
    while split < limit and context_ids[split] == whole[split]:
        split += 1
    if split == len(whole):
        raise ValueError(f"continuation {continuation!r} encodes to no tokens")
    return Request(context=(encoder.bos_id, *whole[:split]), continuation=tuple(whole[split:]))


def _truncate(request: Request, max_seq_len: int) -> tuple[list[int], int]:
    """Model input ids (left-truncated to max_seq_len) and how many trailing targets to score."""
    sequence = list(request.context) + list(request.continuation)
    sequence = sequence[-(max_seq_len + 1) :]
    inputs = sequence[:-1]
    scored = min(len(request.continuation), len(inputs))
    return inputs + [sequence[-1]], scored


@torch.inference_mode()
def score_requests(
    forward: Callable[[torch.Tensor], torch.Tensor],
    requests: Sequence[Request],
    *,
    batch_size: int,
    max_seq_len: int,
    device: str | torch.device = "cpu",
    pad_id: int = 0,
    project: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> list[Score]:
    """Score requests in batches of similar length (longest first), returning input order.

    ``forward(tokens[B, S]) -> logits[B, S, V]`` must be causal, so right padding never changes
    the logits of real positions. Log-softmax runs in float32 on the scored positions only.

    With ``project`` (the output projection, hidden[..., D] -> logits[..., V]), ``forward``
    returns final hidden states instead and only the continuation positions are projected: the
    vocabulary projection is most of a small model's FLOPs, and contexts are longer than
    continuations.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    prepared = [_truncate(request, max_seq_len) for request in requests]
    order = sorted(range(len(prepared)), key=lambda i: -len(prepared[i][0]))
    scores: list[Score | None] = [None] * len(prepared)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        width = max(len(prepared[i][0]) for i in batch) - 1
        tokens = torch.full((len(batch), width), pad_id, dtype=torch.long)
        for row, i in enumerate(batch):
            inputs = prepared[i][0][:-1]
            tokens[row, : len(inputs)] = torch.tensor(inputs, dtype=torch.long)
        outputs = forward(tokens.to(device))
        for row, i in enumerate(batch):
            sequence, scored = prepared[i]
            length = len(sequence) - 1
            targets = torch.tensor(sequence[length - scored + 1 :], dtype=torch.long)
            step = outputs[row, length - scored : length]
            step_logits = (project(step) if project is not None else step).float().cpu()
            logprobs = F.log_softmax(step_logits, dim=-1)
            picked = logprobs.gather(-1, targets[:, None]).squeeze(-1)
            greedy = bool((step_logits.argmax(dim=-1) == targets).all())
            scores[i] = Score(logprob=float(picked.sum()), is_greedy=greedy, num_tokens=scored)
    return [score for score in scores if score is not None]


@contextmanager
def output_bypassed(model: torch.nn.Module) -> Iterator[None]:
    """Within the block, ``model(...)`` returns final hidden states instead of logits.

    Swaps the documented ``output`` projection for an identity, so callers can project only the
    positions they score (the vocabulary projection dominates a small model's FLOPs).
    """
    output = model.output
    model.output = torch.nn.Identity()
    try:
        yield
    finally:
        model.output = output


def hidden_states(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Final (normed) hidden states [B, S, dim] of our Transformer for ``tokens``."""
    with output_bypassed(model):
        return model(tokens)


@torch.inference_mode()
def score_shared_context(
    model: torch.nn.Module,
    args: ModelArgs,
    context: Sequence[int],
    continuations: Sequence[Sequence[int]],
    *,
    max_seq_len: int,
    device: str | torch.device = "cpu",
) -> list[Score]:
    """Score several continuations of ONE context, running the context through the model once.

    The context fills a KV cache (batch row 0), which is copied to one row per continuation;
    the continuations then run together from position ``len(context)``. For a k-choice question
    with a long (few-shot) prompt this is ~k times less compute than scoring each choice with
    the whole prompt. When prompt + longest continuation exceed ``max_seq_len + 1`` tokens the
    context is left-truncated once for all choices.
    """
    if not continuations or any(len(c) == 0 for c in continuations):
        raise ValueError("every continuation needs at least one token")
    longest = max(len(c) for c in continuations)
    if longest > max_seq_len:
        raise ValueError(f"a continuation of {longest} tokens does not fit {max_seq_len}")
    context = list(context)[-(max_seq_len + 1 - longest) :]
    if not context:
        raise ValueError("the context needs at least one token (BOS)")
    n = len(continuations)
    dtype = next(model.parameters()).dtype
    cache = KVCache(args, n, len(context) + longest - 1, dtype, device)
    project = model.output
    with output_bypassed(model):
        hidden = model(
            torch.tensor([context], dtype=torch.long, device=device), start_pos=0, kv_cache=cache
        )
    # Only the last prompt position predicts a continuation token: project just that one.
    first_logprobs = F.log_softmax(project(hidden[0, -1]).float().cpu(), dim=-1)
    first_greedy = int(first_logprobs.argmax())
    cache.keys[:, 1:n, : len(context)] = cache.keys[:, :1, : len(context)]
    cache.values[:, 1:n, : len(context)] = cache.values[:, :1, : len(context)]
    rest_logprobs = None
    if longest > 1:
        tokens = torch.zeros((n, longest - 1), dtype=torch.long)
        for row, continuation in enumerate(continuations):
            tokens[row, : len(continuation) - 1] = torch.tensor(continuation[:-1])
        logits = model(tokens.to(device), start_pos=len(context), kv_cache=cache)
        rest_logprobs = F.log_softmax(logits.float().cpu(), dim=-1)
        del logits
    scores = []
    for row, continuation in enumerate(continuations):
        total = float(first_logprobs[continuation[0]])
        greedy = first_greedy == continuation[0]
        if len(continuation) > 1:
            targets = torch.tensor(continuation[1:], dtype=torch.long)
            step = rest_logprobs[row, : len(continuation) - 1]
            total += float(step.gather(-1, targets[:, None]).sum())
            greedy = greedy and bool((step.argmax(dim=-1) == targets).all())
        scores.append(Score(logprob=total, is_greedy=greedy, num_tokens=len(continuation)))
    return scores
