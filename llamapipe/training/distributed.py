"""One code path from a single CPU process to torchrun across nodes.

The backend is chosen at run time (gloo without CUDA, NCCL with it): a CPU-only build of torch
refuses "cpu:gloo,cuda:nccl". A single process without torchrun still gets a (one-rank) process
group, so FSDP, DCP and the loss all-reduce run the same code everywhere.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

from llamapipe.errors import ConfigError


@dataclass
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    mesh: DeviceMesh
    dp_size: int
    tp_size: int
    owns_process_group: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def dp_rank(self) -> int:
        return self.mesh.get_local_rank("dp")

    @property
    def dp_mesh(self) -> DeviceMesh:
        return self.mesh["dp"]

    @property
    def tp_mesh(self) -> DeviceMesh:
        return self.mesh["tp"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_distributed(tp: int = 1) -> DistContext:
    """Join (or create, for a plain single process) the process group and a (dp, tp) mesh."""
    owns = False
    if not dist.is_initialized():
        if "RANK" not in os.environ:
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
            os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
            owns_env = True
        else:
            owns_env = False
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
        owns = True
        if owns_env:
            for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT"):
                os.environ.pop(key, None)
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if world % tp != 0:
        if owns:
            dist.destroy_process_group()
        raise ConfigError(
            f"train.tp = {tp}: the world size ({world} processes) is not divisible by it; "
            "launch a multiple of tp processes with torchrun, or lower --tp"
        )
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_type, local_rank) if device_type == "cuda" else torch.device("cpu")
    mesh = init_device_mesh(device_type, (world // tp, tp), mesh_dim_names=("dp", "tp"))
    return DistContext(rank, world, local_rank, device, mesh, world // tp, tp, owns)


def teardown_distributed(ctx: DistContext) -> None:
    if ctx.owns_process_group and dist.is_initialized():
        dist.destroy_process_group()
