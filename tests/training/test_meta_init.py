"""The GPU path's initialisation, run on CPU: shapes on meta, shard, materialise, init in place."""

from __future__ import annotations

import torch

from llamapipe.model import PRESETS, build_transformer
from llamapipe.training.distributed import setup_distributed, teardown_distributed
from llamapipe.training.parallelize import parallelize


def test_sharded_model_built_on_meta_initialises_and_trains() -> None:
    ctx = setup_distributed(tp=1)
    try:
        torch.manual_seed(0)
        model = build_transformer(PRESETS["tiny"].args, device="meta")
        parallelize(model, ctx.mesh, "selective", False, None)
        model.to_empty(device="cpu")
        model.init_weights()
        wq = model.layers["0"].attention.wq.weight.detach().full_tensor()
        wo = model.layers["0"].attention.wo.weight.detach().full_tensor()
        assert abs(float(wq.std()) - 0.02) < 0.002
        assert abs(float(wo.std()) - 0.02 / 2) < 0.001  # 1/sqrt(2 * n_layers), 2 layers
        assert torch.equal(model.norm.weight.detach().full_tensor(), torch.ones(64))
        tokens = torch.randint(0, 512, (2, 33))
        loss = model(tokens[:, :-1], targets=tokens[:, 1:])
        loss.backward()
        assert 5.5 < loss.item() < 7.0  # ~ln(512) for an untrained model
        assert all(p.grad is not None for p in model.parameters())
    finally:
        teardown_distributed(ctx)
