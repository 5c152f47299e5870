"""Generation: seeded sampling is reproducible and the KV cache changes nothing."""

from __future__ import annotations

import torch

from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.generate import (
    SamplingParams,
    generate_text,
    generate_tokens,
    top_p_filter,
)
from llamapipe.model import build_transformer


def _model(tiny_args, seed: int = 0):
    torch.manual_seed(seed)
    args = tiny_args(max_seq_len=64)
    return build_transformer(args).eval(), args


def _prompt(sp_model) -> list[int]:
    encoder = SentencePieceEncoder(sp_model)
    return [encoder.bos_id, *encoder.encode("It was the best of times, it was")]


def test_greedy_with_cache_equals_greedy_without(tiny_args, sp_model):
    model, args = _model(tiny_args)
    params = SamplingParams(temperature=0.0, max_new_tokens=24)
    prompt = _prompt(sp_model)
    cached = generate_tokens(model, args, prompt, params, use_cache=True)
    uncached = generate_tokens(model, args, prompt, params, use_cache=False)
    assert len(cached) == 24 and cached == uncached


def test_sampling_with_cache_equals_sampling_without(tiny_args, sp_model):
    model, args = _model(tiny_args)
    params = SamplingParams(temperature=1.0, top_p=0.9, max_new_tokens=16, seed=3)
    prompt = _prompt(sp_model)
    assert generate_tokens(model, args, prompt, params) == generate_tokens(
        model, args, prompt, params, use_cache=False
    )


def test_same_seed_same_tokens_other_seed_other_tokens(tiny_args, sp_model):
    model, args = _model(tiny_args)
    prompt = _prompt(sp_model)
    runs = [
        generate_tokens(
            model, args, prompt, SamplingParams(temperature=1.0, max_new_tokens=20, seed=s)
        )
        for s in (7, 7, 8)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_generation_fits_the_context_and_stops_at_eos(tiny_args, sp_model):
    model, args = _model(tiny_args)
    long_prompt = _prompt(sp_model) * 10  # longer than max_seq_len
    out = generate_tokens(model, args, long_prompt, SamplingParams(temperature=0, max_new_tokens=8))
    assert len(out) == 8
    first = out[0]
    stopped = generate_tokens(
        model, args, long_prompt, SamplingParams(temperature=0, max_new_tokens=8), eos_id=first
    )
    assert stopped == [first]


def test_generate_text_decodes_continuation(tiny_args, sp_model):
    model, args = _model(tiny_args)
    encoder = SentencePieceEncoder(sp_model)
    params = SamplingParams(temperature=0.0, max_new_tokens=10)
    text = generate_text(model, args, encoder, "Alice was", params)
    ids = generate_tokens(model, args, [encoder.bos_id, *encoder.encode("Alice was")], params)
    if encoder.eos_id in ids:
        ids = ids[: ids.index(encoder.eos_id)]
    assert encoder.decode(encoder.encode("Alice was") + ids) == "Alice was" + text


def test_top_p_keeps_smallest_nucleus():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    kept = top_p_filter(probs, 0.7)
    assert torch.allclose(kept, torch.tensor([0.5, 0.3, 0.0, 0.0]) / 0.8)
    assert torch.equal(top_p_filter(probs, 1.0), probs)
    only_top = top_p_filter(probs, 0.1)
    assert torch.equal(only_top, torch.tensor([1.0, 0.0, 0.0, 0.0]))
