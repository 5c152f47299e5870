"""Key/value cache for incremental decoding (used by generation, not by training)."""

from __future__ import annotations

import torch

from llamapipe.model.args import ModelArgs


class KVCache:
    """Past keys and values of every layer, [layers, batch, max_seq_len, kv_heads, head_dim].

    One preallocated tensor per kind keeps decoding allocation-free; `update` writes the new
    positions of one layer and returns the keys/values of all positions seen so far.
    """

    def __init__(
        self,
        args: ModelArgs,
        batch_size: int,
        max_seq_len: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        shape = (args.n_layers, batch_size, max_seq_len, args.kv_heads, args.head_dim)
        self.batch_size = batch_size
        self.max_seq_len = max_seq_len
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)

    def update(
        self, layer: int, start_pos: int, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, seq = keys.shape[0], keys.shape[1]
        end = start_pos + seq
        if end > self.max_seq_len:
            raise ValueError(
                f"KV cache holds {self.max_seq_len} positions; asked to write up to {end}"
            )
        if batch > self.batch_size:
            raise ValueError(f"KV cache batch is {self.batch_size}; got a batch of {batch}")
        self.keys[layer, :batch, start_pos:end] = keys.to(self.keys.dtype)
        self.values[layer, :batch, start_pos:end] = values.to(self.values.dtype)
        return self.keys[layer, :batch, :end], self.values[layer, :batch, :end]
