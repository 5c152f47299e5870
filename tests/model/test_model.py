"""The LLaMA module: exact paper sizes, Meta's names, attention backends, RoPE, KV cache, loss."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from llamapipe.model import PRESETS, KVCache, ModelArgs, Transformer, count_parameters
from llamapipe.model.attention import (
    Attention,
    naive_attention,
    sdpa_attention,
    xformers_attention,
)
from llamapipe.model.layers import FeedForward, RMSNorm
from llamapipe.model.loss import IGNORE_INDEX, chunked_linear_cross_entropy
from llamapipe.model.presets import flops_per_token
from llamapipe.model.rope import apply_rope, rope_angles

SMALL = ModelArgs(dim=64, n_layers=2, n_heads=4, vocab_size=300, multiple_of=32, max_seq_len=64)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("7b", 6_738_415_616),
        ("13b", 13_015_864_320),
        ("33b", 32_528_943_616),
        ("65b", 65_285_660_672),
    ],
)
def test_paper_presets_have_exact_parameter_counts(size: str, expected: int) -> None:
    assert count_parameters(PRESETS[size].args) == expected


def test_presets_carry_paper_hyperparameters() -> None:
    assert PRESETS["7b"].lr == 3.0e-4 and PRESETS["65b"].lr == 1.5e-4
    assert PRESETS["65b"].train_tokens == 1_400_000_000_000
    assert PRESETS["7b"].batch_tokens == 2048 * 2048
    assert PRESETS["7b"].args.ffn_hidden_dim == 11008
    seventy = PRESETS["llama2-70b"].args
    assert (seventy.ffn_hidden_dim, seventy.kv_heads, seventy.max_seq_len) == (28672, 8, 4096)


def test_flops_per_token_formula_for_65b() -> None:
    args = PRESETS["65b"].args
    n = 65_285_660_672 - 32000 * 8192
    assert flops_per_token(args, 2048) == 6 * n + 12 * 80 * 64 * 128 * 2048


def test_parameter_names_are_metas() -> None:
    names = set(Transformer(SMALL).state_dict())
    expected = {"tok_embeddings.weight", "norm.weight", "output.weight"}
    for i in range(SMALL.n_layers):
        for part in ("attention.wq", "attention.wk", "attention.wv", "attention.wo"):
            expected.add(f"layers.{i}.{part}.weight")
        for part in ("feed_forward.w1", "feed_forward.w2", "feed_forward.w3"):
            expected.add(f"layers.{i}.{part}.weight")
        expected |= {f"layers.{i}.attention_norm.weight", f"layers.{i}.ffn_norm.weight"}
    assert names == expected


@pytest.mark.parametrize("kv_heads", [4, 2])
def test_sdpa_matches_naive_attention(kv_heads: int) -> None:
    torch.manual_seed(0)
    q = torch.randn(2, 33, 4, 16, requires_grad=True)
    k = torch.randn(2, 33, kv_heads, 16, requires_grad=True)
    v = torch.randn(2, 33, kv_heads, 16, requires_grad=True)
    fast = sdpa_attention(q, k, v)
    grads_fast = torch.autograd.grad(fast.sum(), (q, k, v))
    slow = naive_attention(q, k, v)
    grads_slow = torch.autograd.grad(slow.sum(), (q, k, v))
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    for a, b in zip(grads_fast, grads_slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_whole_model_sdpa_matches_naive() -> None:
    torch.manual_seed(0)
    model = Transformer(SMALL)
    tokens = torch.randint(0, SMALL.vocab_size, (2, 40))
    fast = model(tokens)
    for block in model.layers.values():
        block.attention.backend = "naive"
    torch.testing.assert_close(fast, model(tokens), atol=1e-5, rtol=1e-5)


def test_attention_is_causal() -> None:
    torch.manual_seed(0)
    model = Transformer(SMALL)
    tokens = torch.randint(0, SMALL.vocab_size, (1, 20))
    changed = tokens.clone()
    changed[0, 12:] = (changed[0, 12:] + 1) % SMALL.vocab_size
    torch.testing.assert_close(model(tokens)[:, :12], model(changed)[:, :12])
    assert not torch.allclose(model(tokens)[:, 12:], model(changed)[:, 12:])


def test_xformers_backend_explains_itself_without_cuda() -> None:
    q = torch.randn(1, 4, 2, 8)
    with pytest.raises(RuntimeError, match="xformers"):
        xformers_attention(q, q, q)


def test_rope_equals_complex_rotation_of_interleaved_pairs() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 10, 3, 16)
    cos, sin = rope_angles(16, torch.arange(10), theta=10000.0)
    ours = apply_rope(x, cos, sin)
    # Meta's formulation: view (x[2i], x[2i+1]) as a complex number, multiply by e^{i p f_i}.
    freqs = 1.0 / (10000.0 ** (torch.arange(0, 16, 2).float() / 16))
    angles = torch.outer(torch.arange(10).float(), freqs)
    rotation = torch.polar(torch.ones_like(angles), angles)[None, :, None, :]
    reference = torch.view_as_real(torch.view_as_complex(x.reshape(2, 10, 3, 8, 2)) * rotation)
    torch.testing.assert_close(ours, reference.flatten(-2), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(ours.norm(dim=-1), x.norm(dim=-1))


def test_rope_scores_depend_only_on_relative_position() -> None:
    torch.manual_seed(0)
    q = torch.randn(1, 1, 1, 32).expand(1, 50, 1, 32)
    k = torch.randn(1, 1, 1, 32).expand(1, 50, 1, 32)
    cos, sin = rope_angles(32, torch.arange(50))
    rq, rk = apply_rope(q, cos, sin)[0, :, 0], apply_rope(k, cos, sin)[0, :, 0]
    assert math.isclose(float(rq[10] @ rk[7]), float(rq[40] @ rk[37]), rel_tol=1e-4)
    assert not math.isclose(float(rq[10] @ rk[7]), float(rq[10] @ rk[3]), rel_tol=1e-2)


def test_kv_cache_decoding_matches_full_forward() -> None:
    torch.manual_seed(0)
    args = ModelArgs(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=300, multiple_of=32)
    model = Transformer(args).eval()
    tokens = torch.randint(0, args.vocab_size, (2, 12))
    with torch.no_grad():
        full = model(tokens)
        cache = KVCache(args, batch_size=2, max_seq_len=16, dtype=torch.float32, device="cpu")
        prefix = model(tokens[:, :7], start_pos=0, kv_cache=cache)
        steps = [model(tokens[:, i : i + 1], start_pos=i, kv_cache=cache) for i in range(7, 12)]
    torch.testing.assert_close(prefix, full[:, :7], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat(steps, dim=1), full[:, 7:], atol=1e-5, rtol=1e-5)


def test_kv_cache_refuses_to_overflow() -> None:
    cache = KVCache(SMALL, batch_size=1, max_seq_len=4, dtype=torch.float32, device="cpu")
    with pytest.raises(ValueError, match="holds 4 positions"):
        cache.update(0, 3, torch.zeros(1, 2, 4, 16), torch.zeros(1, 2, 4, 16))


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_chunked_loss_equals_linear_plus_cross_entropy(chunk: int) -> None:
    torch.manual_seed(0)
    hidden = torch.randn(50, 32, requires_grad=True)
    weight = torch.randn(300, 32, requires_grad=True)
    targets = torch.randint(0, 300, (50,))
    targets[[3, 17]] = IGNORE_INDEX
    ours = chunked_linear_cross_entropy(hidden, weight, targets, chunk_size=chunk)
    grads = torch.autograd.grad(ours * 3.0, (hidden, weight))
    reference = F.cross_entropy(hidden @ weight.t(), targets, ignore_index=IGNORE_INDEX)
    expected = torch.autograd.grad(reference * 3.0, (hidden, weight))
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    for a, b in zip(grads, expected, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_model_loss_equals_cross_entropy_of_logits() -> None:
    torch.manual_seed(0)
    model = Transformer(SMALL)
    tokens = torch.randint(0, SMALL.vocab_size, (2, 30))
    loss = model(tokens[:, :-1], targets=tokens[:, 1:])
    logits = model(tokens[:, :-1])
    reference = F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
    torch.testing.assert_close(loss, reference, atol=1e-5, rtol=1e-5)


def test_unfused_kernels_compute_the_same_loss_and_gradients() -> None:
    """The plain-autograd forms that tensor parallelism shards (separate projections, RMSNorm's
    formula, logits + cross_entropy) equal the fused kernels used everywhere else."""
    torch.manual_seed(0)
    fused = Transformer(SMALL)
    unfused = copy.deepcopy(fused)
    unfused.set_fused_kernels(False)
    assert not unfused.fused_loss and not unfused.layers["1"].attention.fused
    assert not unfused.layers["0"].feed_forward.fused and not unfused.norm.fused
    tokens = torch.randint(0, SMALL.vocab_size, (2, 33))
    targets = tokens[:, 1:].clone()
    targets[0, :5] = IGNORE_INDEX
    losses = []
    for model in (fused, unfused):
        loss = model(tokens[:, :-1], targets=targets)
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[1], losses[0], atol=1e-6, rtol=1e-6)
    for (name, a), b in zip(fused.named_parameters(), unfused.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-6, rtol=1e-5, msg=name)


def test_model_code_is_free_of_parallelism() -> None:
    """Sharding, DTensors and checkpointing live in llamapipe/training/parallelize.py and
    activation_checkpointing.py; the model package is plain torch."""
    package = Path(Transformer.__module__.replace(".", "/")).parent
    for source in sorted((Path(__file__).parents[2] / package).glob("*.py")):
        text = source.read_text()
        for word in ("DTensor", "torch.distributed", "torch.utils.checkpoint"):
            assert word not in text, f"{source.name} mentions {word}"


def test_bad_model_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="not divisible"):
        ModelArgs(dim=100, n_heads=3)
    with pytest.raises(ValueError, match="unknown attention backend"):
        ModelArgs(dim=64, n_heads=4, attention="flash9")
    with pytest.raises(ValueError, match="unknown model argument"):
        ModelArgs.from_dict({"dim": 64, "n_heads": 4, "bogus": 1})


def test_chunked_loss_under_bf16_autocast_matches_autocast_reference() -> None:
    torch.manual_seed(0)
    hidden = torch.randn(2500, 32, requires_grad=True)  # > one 1024-token weight-grad group
    weight = torch.randn(200, 32, requires_grad=True)
    targets = torch.randint(0, 200, (2500,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = chunked_linear_cross_entropy(hidden, weight, targets, chunk_size=96)
        grads = torch.autograd.grad(ours, (hidden, weight))
        reference = F.cross_entropy((hidden @ weight.t()).float(), targets)
        expected = torch.autograd.grad(reference, (hidden, weight))
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)
    for a, b in zip(grads, expected, strict=True):
        assert a.dtype == b.dtype == torch.float32
        torch.testing.assert_close(a, b, atol=2e-2 * float(b.abs().max()), rtol=0)


def test_chunked_loss_survives_hopeless_predictions() -> None:
    hidden = torch.tensor([[100.0, 0.0], [0.0, 1.0]])
    weight = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    targets = torch.tensor([1, 2])  # first target's logit is 200 below the best: p underflows
    ours = chunked_linear_cross_entropy(hidden, weight, targets)
    reference = F.cross_entropy(hidden @ weight.t(), targets)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, reference)


def _reference_rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).type_as(x) * weight


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_rms_norm_hand_written_backward_matches_autograd(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    norm = RMSNorm(48, eps=1e-6).to(dtype)
    with torch.no_grad():
        norm.weight.normal_()
    x = (torch.randn(3, 7, 48) * 5).to(dtype).requires_grad_()
    grad = torch.randn(3, 7, 48).to(dtype)
    ours = norm(x)
    grads = torch.autograd.grad(ours, (x, norm.weight), grad)
    reference = _reference_rms_norm(x, norm.weight, 1e-6)
    expected = torch.autograd.grad(reference, (x, norm.weight), grad)
    assert torch.equal(ours, reference)  # same forward formula
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    for a, b in zip(grads, expected, strict=True):
        assert a.dtype == b.dtype == dtype
        torch.testing.assert_close(a, b, atol=tol * float(b.abs().max()), rtol=0)


def test_swiglu_fused_projection_and_backward_match_two_projections() -> None:
    torch.manual_seed(0)
    ff = FeedForward(SMALL)
    x = torch.randn(2, 9, SMALL.dim, requires_grad=True)
    grad = torch.randn(2, 9, SMALL.dim)
    ours = ff(x)
    grads = torch.autograd.grad(ours, (x, *ff.parameters()), grad)
    reference = ff.w2(F.silu(ff.w1(x)) * ff.w3(x))
    expected = torch.autograd.grad(reference, (x, *ff.parameters()), grad)
    torch.testing.assert_close(ours, reference)
    for a, b in zip(grads, expected, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_rope_backward_is_the_inverse_rotation() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 10, 3, 16, requires_grad=True)
    grad = torch.randn(2, 10, 3, 16)
    cos, sin = rope_angles(16, torch.arange(10))
    (ours,) = torch.autograd.grad(apply_rope(x, cos, sin), x, grad)
    pairs = x.unflatten(-1, (-1, 2))
    even, odd = pairs[..., 0], pairs[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    reference = torch.stack((even * c - odd * s, even * s + odd * c), dim=-1).flatten(-2)
    (expected,) = torch.autograd.grad(reference, x, grad)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-6)


def test_fused_qkv_projection_matches_separate_projections() -> None:
    torch.manual_seed(0)
    args = ModelArgs(dim=64, n_heads=8, n_kv_heads=2, vocab_size=300, multiple_of=32)
    attention = Attention(args, layer_id=0)
    x = torch.randn(2, 11, 64, requires_grad=True)
    cos, sin = rope_angles(args.head_dim, torch.arange(11))
    q, k, v = attention._project(x, cos, sin)
    heads = (2, 11, -1, args.head_dim)
    ref_q = apply_rope(attention.wq(x).view(heads), cos, sin)
    ref_k = apply_rope(attention.wk(x).view(heads), cos, sin)
    ref_v = attention.wv(x).view(heads)
    assert q.shape == (2, 11, 8, 8) and k.shape == v.shape == (2, 11, 2, 8)
    for ours, ref in ((q, ref_q), (k, ref_k), (v, ref_v)):
        torch.testing.assert_close(ours, ref)
    loss = (q.square().sum() + (k * 2).sum() + v.sin().sum()) / 100
    grads = torch.autograd.grad(loss, (x, *attention.parameters()), allow_unused=True)
    ref_loss = (ref_q.square().sum() + (ref_k * 2).sum() + ref_v.sin().sum()) / 100
    expected = torch.autograd.grad(ref_loss, (x, *attention.parameters()), allow_unused=True)
    for a, b in zip(grads, expected, strict=True):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
