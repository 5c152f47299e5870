"""Text generation: temperature and nucleus (top-p) sampling with a KV cache.

With the cache, the prompt goes through the model once and every new token costs one position
(keys/values of earlier positions are reused); without it, each step re-runs the whole sequence,
which is only useful to check the cache. Sampling draws from a ``torch.Generator`` seeded by the
caller, so the same seed, prompt and model give the same tokens. ``temperature == 0`` is greedy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


@torch.inference_mode()
def generate_batch(
    model: torch.nn.Module,
    args: ModelArgs,
    prompts: Sequence[Sequence[int]],
    params: SamplingParams,
    *,
    seeds: Sequence[int] | None = None,
    eos_id: int | None = None,
    stop: Callable[[int, list[int]], bool] | None = None,
    device: str | torch.device = "cpu",
) -> list[list[int]]:
    """New tokens for several prompts at once, one KV cache for the batch.

    Prompts of different lengths need no padding mask: every row runs from position 0, the
    shortest prompt sets where decoding starts, and until a row's own prompt is used up its
    "generated" token is replaced by its next prompt token (Meta's reference generator does the
    same). A row stops at EOS, at ``max_new_tokens``, or when ``stop(row, its new tokens)`` says
    so; the batch stops when every row has. Each row samples from its own generator seeded by
    ``seeds[row]`` (default: ``params.seed``), so a row's tokens do not depend on its batch.
    """
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt must contain at least one token (BOS)")
    budget = min(params.max_new_tokens, args.max_seq_len - 1)
    rows = [list(p)[-(args.max_seq_len - budget) :] for p in prompts]
    lengths = [len(r) for r in rows]
    total = min(args.max_seq_len, max(lengths) + budget)
    batch = len(rows)
    tokens = torch.zeros((batch, total), dtype=torch.long)
    for row, ids in enumerate(rows):
        tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    seeds = list(seeds) if seeds is not None else [params.seed] * batch
    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
    dtype = next(model.parameters()).dtype
    cache = KVCache(args, batch, total, dtype, device)
    project = model.output
    produced: list[list[int]] = [[] for _ in rows]
    done = [budget == 0] * batch
    previous = 0
    for position in range(min(lengths), total):
        if all(done):
            break
        with output_bypassed(model):
            hidden = model(
                tokens[:, previous:position].to(device), start_pos=previous, kv_cache=cache
            )
        logits = project(hidden[:, -1]).float().cpu()
        previous = position
        for row in range(batch):
            if done[row] or position < lengths[row]:
                continue  # finished, or still reading its prompt (already in `tokens`)
            token = next_token(logits[row], params, generators[row])
            tokens[row, position] = token
            produced[row].append(token)
            if (
                (eos_id is not None and token == eos_id)
                or len(produced[row]) >= budget
                or (stop is not None and stop(row, produced[row]))
            ):
                done[row] = True
    return produced


def continuation_text(encoder: TextCodec, prompt_ids: Sequence[int], new: Sequence[int]) -> str:
    """The text of ``new`` as it reads after the prompt (BOS excluded from ``prompt_ids``).

    Decoding prompt + continuation together keeps the space a SentencePiece piece carries at
    the start of the continuation, which decoding the new ids alone would drop.
    """
    new = list(new)
    if new and new[-1] == encoder.eos_id:
        new = new[:-1]
    full = encoder.decode(list(prompt_ids) + new)
    prefix = encoder.decode(list(prompt_ids))
    return full[len(prefix) :] if full.startswith(prefix) else encoder.decode(new)
