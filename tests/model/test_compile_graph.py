"""A block compiles into one graph (no graph breaks), on CPU with the aot_eager backend.

The same dynamo trace and autograd split that inductor gets on a GPU, without its code
generation: a graph break here (e.g. an `out=` write into a strided view inside a hand-written
backward) leaves part of every block eager in the GPU run.
"""

from __future__ import annotations

import copy

import pytest
import torch

from llamapipe.model import PRESETS, Transformer
from llamapipe.training.activation_checkpointing import apply_activation_checkpointing


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["none", "selective"])
def test_block_compiles_to_one_graph_and_matches_eager(mode: str) -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    eager = Transformer(PRESETS["tiny"].args)
    apply_activation_checkpointing(eager, mode)
    compiled = copy.deepcopy(eager)
    for block in compiled.layers.values():
        # fullgraph=True: any graph break raises instead of silently splitting the block.
        block.compile(backend="aot_eager", fullgraph=True)
    tokens = torch.randint(0, 512, (2, 33))
    losses = []
    for model in (eager, compiled):
        loss = model(tokens[:, :-1], targets=tokens[:, 1:])
        loss.backward()
        losses.append(loss.item())
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    for (name, a), b in zip(eager.named_parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-7, msg=name)
