"""One NCCL process group (a single rank on one GPU) for all CUDA tests, as the trainer makes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llamapipe.training.distributed import DistContext, setup_distributed, teardown_distributed


@pytest.fixture(scope="session")
def dist_ctx() -> Iterator[DistContext]:
    ctx = setup_distributed(tp=1)
    assert ctx.device.type == "cuda", "the CUDA tests need the NCCL/CUDA process group"
    yield ctx
    teardown_distributed(ctx)
