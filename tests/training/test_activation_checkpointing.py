"""Activation checkpointing applied from outside the model: same numbers, Meta's names kept,
and the recomputation really happens (counted on CPU's attention kernel)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.distributed.checkpoint.state_dict import get_state_dict
from torch.utils._python_dispatch import TorchDispatchMode

from llamapipe.model import ModelArgs, Transformer
from llamapipe.training.activation_checkpointing import apply_activation_checkpointing
from llamapipe.training.distributed import setup_distributed, teardown_distributed
from llamapipe.training.optim import build_optimizer
from llamapipe.training.parallelize import parallelize

SMALL = ModelArgs(dim=64, n_layers=2, n_heads=4, vocab_size=300, multiple_of=32, max_seq_len=64)
CPU_ATTENTION = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
MODES = ("none", "selective", "full")


class _CountAttention(TorchDispatchMode):
    """Counts the CPU attention kernels that run (a selective replay served from saved outputs
    never reaches this mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is CPU_ATTENTION:
            self.calls += 1
        return func(*args, **(kwargs or {}))


def _tokens() -> torch.Tensor:
    return torch.randint(0, SMALL.vocab_size, (2, 33), generator=torch.Generator().manual_seed(1))


def _meta_names(args: ModelArgs) -> set[str]:
    names = {"tok_embeddings.weight", "norm.weight", "output.weight"}
    for i in range(args.n_layers):
        for part in ("attention.wq", "attention.wk", "attention.wv", "attention.wo"):
            names.add(f"layers.{i}.{part}.weight")
        for part in ("feed_forward.w1", "feed_forward.w2", "feed_forward.w3"):
            names.add(f"layers.{i}.{part}.weight")
        names |= {f"layers.{i}.attention_norm.weight", f"layers.{i}.ffn_norm.weight"}
    return names


def test_checkpointing_gives_identical_gradients_and_recomputes_what_it_should() -> None:
    torch.manual_seed(0)
    model = Transformer(SMALL)
    tokens = _tokens()
    grads, calls = {}, {}
    for mode in MODES:
        apply_activation_checkpointing(model, mode)  # each call replaces the previous mode
        model.zero_grad()
        counter = _CountAttention()
        with counter:
            model(tokens[:, :-1], targets=tokens[:, 1:]).backward()
        calls[mode] = counter.calls
        grads[mode] = [p.grad.clone() for p in model.parameters()]
    layers = SMALL.n_layers
    assert calls == {"none": layers, "selective": layers, "full": 2 * layers}
    for mode in ("selective", "full"):
        for a, b in zip(grads["none"], grads[mode], strict=True):
            assert torch.equal(a, b), mode


def test_checkpointing_keeps_metas_names_in_the_module_and_its_checkpoint() -> None:
    """What export, import-hf, DCP checkpoints and --init-from read: state_dict keys, parameter
    names, and the keys DCP's get_state_dict gives the model and the optimizer."""
    expected = _meta_names(SMALL)
    for mode in MODES:
        model = Transformer(SMALL)
        apply_activation_checkpointing(model, mode)
        assert set(model.state_dict()) == expected, mode
        assert {name for name, _ in model.named_parameters()} == expected, mode
    ctx = setup_distributed(tp=1)
    try:
        model = parallelize(Transformer(SMALL), ctx.mesh, "selective", False, None)
        assert {name for name, _ in model.named_parameters()} == expected
        model_sd, optim_sd = get_state_dict(model, build_optimizer(model, lr=1e-3))
        assert set(model_sd) == expected
        named_in_groups = [set(group["params"]) for group in optim_sd["param_groups"]]
        assert set.union(*named_in_groups) == expected
        counter = _CountAttention()  # and parallelize did apply it: full recomputes attention
        model = parallelize(Transformer(SMALL), ctx.mesh, "full", False, None)
        with counter:
            model(_tokens()[:, :-1], targets=_tokens()[:, 1:]).backward()
        assert counter.calls == 2 * SMALL.n_layers
    finally:
        teardown_distributed(ctx)


def test_inference_and_kv_cache_run_the_block_directly() -> None:
    torch.manual_seed(0)
    plain = Transformer(SMALL)
    checkpointed = copy.deepcopy(plain)
    apply_activation_checkpointing(checkpointed, "selective")
    tokens = _tokens()
    with torch.no_grad():
        assert torch.equal(checkpointed(tokens), plain(tokens))
    # The deep copy's blocks call their own forward, not the original's.
    assert checkpointed.layers["0"].forward.args[0] is checkpointed.layers["0"]


def test_unknown_mode_is_rejected_and_the_old_method_still_works() -> None:
    model = Transformer(SMALL)
    with pytest.raises(ValueError, match="choose one of"):
        apply_activation_checkpointing(model, "some")
    with pytest.warns(DeprecationWarning, match="apply_activation_checkpointing"):
        model.set_activation_checkpointing("full")
    counter = _CountAttention()
    with counter:
        model(_tokens()[:, :-1], targets=_tokens()[:, 1:]).backward()
    assert counter.calls == 2 * SMALL.n_layers
