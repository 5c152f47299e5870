"""The data loader's order, sharding and resumption; the optimizer groups and the schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from llamapipe.model import ModelArgs, Transformer
from llamapipe.training.data import TokenBatchLoader, TokenManifest, WindowOrder
from llamapipe.training.optim import lr_multiplier, parameter_groups


def test_window_order_is_a_fresh_permutation_each_epoch() -> None:
    order = WindowOrder(3001, seed=3, block=256)
    first = [order.window(i) for i in range(3001)]
    second = [order.window(3001 + i) for i in range(3001)]
    assert sorted(first) == list(range(3001)) == sorted(second)
    assert first != second
    assert first != list(range(3001))
    assert first == [WindowOrder(3001, seed=3, block=256).window(i) for i in range(3001)]
    assert first != [WindowOrder(3001, seed=4, block=256).window(i) for i in range(3001)]


def _loader(token_run: Path, rank: int, size: int, micro: int) -> TokenBatchLoader:
    return TokenBatchLoader(token_run / "tokens", 32, 8, micro, rank, size, seed=7)


def _rows(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[list[int]]:
    return [row.tolist() for inputs, _ in batches for row in inputs]


def test_ranks_split_exactly_the_single_process_batch(token_run: Path) -> None:
    single = _loader(token_run, 0, 1, micro=4)
    ranks = [_loader(token_run, r, 2, micro=2) for r in range(2)]
    for _ in range(3):
        whole = _rows(single.next_step())
        parts = [_rows(loader.next_step()) for loader in ranks]
        assert whole == parts[0] + parts[1]


def test_windows_are_real_tokens_with_shifted_targets(token_run: Path) -> None:
    loader = _loader(token_run, 0, 1, micro=8)
    manifest = TokenManifest.load(token_run / "tokens")
    ((inputs, targets),) = loader.next_step()
    assert inputs.shape == targets.shape == (8, 32)
    assert torch.equal(inputs[:, 1:], targets[:, :-1])
    assert int(inputs.max()) < manifest.vocab_size
    assert (inputs == manifest.bos_id).any()


def test_loader_state_resumes_on_another_world_size(token_run: Path) -> None:
    uninterrupted = _loader(token_run, 0, 1, micro=8)
    for _ in range(3):
        uninterrupted.next_step()
    expected = _rows(uninterrupted.next_step())
    first = _loader(token_run, 1, 2, micro=4)
    for _ in range(3):
        first.next_step()
    resumed = _loader(token_run, 0, 1, micro=8)
    resumed.load_state_dict(first.state_dict())
    assert _rows(resumed.next_step()) == expected


def test_loader_refuses_a_state_from_another_sequence_length(token_run: Path) -> None:
    state = _loader(token_run, 0, 1, micro=8).state_dict()
    other = TokenBatchLoader(token_run / "tokens", 16, 8, 8, 0, 1, seed=7)
    with pytest.raises(ValueError, match="seq_len"):
        other.load_state_dict(state)


def test_missing_manifest_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        TokenManifest.load(tmp_path)


def test_warmup_then_cosine_to_ten_percent() -> None:
    values = np.array([lr_multiplier(s, 2000, 100_000, 0.1) for s in range(0, 110_000, 500)])
    assert lr_multiplier(0, 2000, 100_000, 0.1) == pytest.approx(1 / 2000)
    assert lr_multiplier(1999, 2000, 100_000, 0.1) == pytest.approx(1.0)
    assert lr_multiplier(2000, 2000, 100_000, 0.1) == pytest.approx(1.0)
    assert lr_multiplier(51_000, 2000, 100_000, 0.1) == pytest.approx(0.55)
    assert lr_multiplier(100_000, 2000, 100_000, 0.1) == pytest.approx(0.1)
    assert lr_multiplier(120_000, 2000, 100_000, 0.1) == pytest.approx(0.1)
    after = values[values.argmax() :]
    assert np.all(np.diff(after) <= 1e-12)


def test_weight_decay_skips_norm_gains_only() -> None:
    model = Transformer(ModelArgs(dim=32, n_layers=2, n_heads=2, vocab_size=50, multiple_of=16))
    decayed, plain = parameter_groups(model, 0.1, "matrices")
    assert all(p.ndim == 2 for p in decayed["params"]) and plain["weight_decay"] == 0.0
    assert len(plain["params"]) == 2 * 2 + 1
    (everything,) = parameter_groups(model, 0.1, "all")
    assert len(everything["params"]) == len(list(model.parameters()))
