"""Text generation: temperature and nucleus (top-p) sampling with a KV cache.

With the cache, the prompt goes through the model once and every new token costs one position
(keys/values of earlier positions are reused); without it, each step re-runs the whole sequence,
which is only useful to check the cache. Sampling draws from a ``torch.Generator`` seeded by the
caller, so the same seed, prompt and model give the same tokens. ``temperature == 0`` is greedy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from llamapipe.evaluation.loglikelihood import output_bypassed
from llamapipe.model.args import ModelArgs
from llamapipe.model.kv_cache import KVCache


class TextCodec(Protocol):
    bos_id: int
    eos_id: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {self.max_new_tokens}")


def top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Zero all but the smallest set of most likely tokens whose mass reaches ``top_p``, renormed.

    The most likely token is always kept, so the distribution is never empty.
    """
    if top_p >= 1.0:
        return probs
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return filtered / filtered.sum(dim=-1, keepdim=True)


def next_token(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    """Pick the next token from the logits of the last position ([V])."""
    logits = logits.float()
    if params.temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / params.temperature, dim=-1)
    probs = top_p_filter(probs, params.top_p)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.inference_mode()
def generate_tokens(
    model: torch.nn.Module,
    args: ModelArgs,
    prompt: Sequence[int],
    params: SamplingParams,
    *,
    eos_id: int | None = None,
    use_cache: bool = True,
    device: str | torch.device = "cpu",
) -> list[int]:
    """New token ids after ``prompt`` (which should start with BOS), stopping at EOS if given.

    ``model`` is our Transformer (or any module with Meta's ``output`` projection and the
    ``(tokens, start_pos, kv_cache)`` forward).

    The prompt is left-truncated so that prompt + new tokens fit the model's context.
    """
    if not prompt:
        raise ValueError("prompt must contain at least one token (BOS)")
    budget = min(params.max_new_tokens, args.max_seq_len - 1)
    tokens = list(prompt)[-(args.max_seq_len - budget) :]
    generator = torch.Generator(device="cpu").manual_seed(params.seed)
    dtype = next(model.parameters()).dtype
    cache = KVCache(args, 1, len(tokens) + budget, dtype, device) if use_cache else None
    produced: list[int] = []
    position = 0
    pending = tokens
    project = model.output  # only the last position's logits are needed: project just it
    for _ in range(budget):
        with output_bypassed(model):
            if use_cache:
                step = torch.tensor([pending], dtype=torch.long, device=device)
                hidden = model(step, start_pos=position, kv_cache=cache)
                position += len(pending)
            else:
                step = torch.tensor([tokens + produced], dtype=torch.long, device=device)
                hidden = model(step)
        token = next_token(project(hidden[0, -1]).cpu(), params, generator)
        produced.append(token)
        if eos_id is not None and token == eos_id:
            break
        pending = [token]
    return produced


def generate_text(
    model: torch.nn.Module,
    args: ModelArgs,
    encoder: TextCodec,
    prompt: str,
    params: SamplingParams,
    *,
    use_cache: bool = True,
    device: str | torch.device = "cpu",
) -> str:
    """The text sampled after ``prompt`` (BOS + prompt tokens in, stops at EOS)."""
    ids = [encoder.bos_id, *encoder.encode(prompt)]
    new = generate_tokens(
        model, args, ids, params, eos_id=encoder.eos_id, use_cache=use_cache, device=device
    )
    if new and new[-1] == encoder.eos_id:
        new = new[:-1]
    # Decode prompt + continuation together: SentencePiece drops the leading space of a piece
    # sequence it decodes alone, which would glue the continuation to the prompt.
    full = encoder.decode(ids[1:] + new)
    prefix = encoder.decode(ids[1:])
    return full[len(prefix) :] if full.startswith(prefix) else encoder.decode(new)
