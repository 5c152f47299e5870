"""Generation on CUDA: the KV cache gives the tokens and logits of full re-computation."""

from __future__ import annotations

import torch

from llamapipe.evaluation.generate import SamplingParams, generate_tokens
from llamapipe.model import KVCache
from tests.cuda.helpers import CUDA, SMALL, rel_err, small_model, token_batch

pytestmark = CUDA


def test_greedy_generation_with_cache_equals_without() -> None:
    model = small_model().eval()
    prompt = token_batch(seed=5, batch=1, seq=20)[0].tolist()
    params = SamplingParams(temperature=0.0, max_new_tokens=40)
    cached = generate_tokens(model, SMALL, prompt, params, use_cache=True, device="cuda")
    uncached = generate_tokens(model, SMALL, prompt, params, use_cache=False, device="cuda")
    assert len(cached) == 40
    assert cached == uncached


def test_sampled_generation_is_reproducible_with_cache() -> None:
    model = small_model().eval()
    prompt = token_batch(seed=6, batch=1, seq=12)[0].tolist()
    params = SamplingParams(temperature=1.0, top_p=0.9, max_new_tokens=30, seed=3)
    first = generate_tokens(model, SMALL, prompt, params, device="cuda")
    second = generate_tokens(model, SMALL, prompt, params, device="cuda")
    assert first == second
    assert len(set(first)) > 3  # sampling, not a stuck greedy loop


@torch.inference_mode()
def test_bf16_incremental_decoding_matches_full_forward() -> None:
    """Prefill 64 positions, then decode 32 one at a time from a bf16 cache on the GPU: each
    step's logits are the full causal forward's at that position, to bf16 rounding."""
    model = small_model().to(torch.bfloat16).eval()
    tokens = token_batch(seed=7, batch=2, seq=96)[:, :96]
    expected = model(tokens).float()
    cache = KVCache(SMALL, 2, 96, torch.bfloat16, "cuda")
    got = [model(tokens[:, :64], start_pos=0, kv_cache=cache).float()]
    for pos in range(64, 96):
        got.append(model(tokens[:, pos : pos + 1], start_pos=pos, kv_cache=cache).float())
    assert rel_err(torch.cat(got, dim=1), expected) < 2e-2
