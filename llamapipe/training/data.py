"""Deterministic, resumable, rank-sharded batches of token windows.

The training stream (all train shards, concatenated) is cut into windows of seq_len + 1 tokens
with stride seq_len (inputs and next-token targets overlap by one). Window order is a shuffle
drawn from (seed, epoch) that can be evaluated at any position without materialising a
permutation of all windows (1.4T tokens are ~680M windows): windows are grouped in blocks,
the blocks are permuted, and the windows inside each block are permuted.

The loader's only state is how many windows the whole job has consumed. Step s takes global
windows [s * G, (s + 1) * G) and data-parallel rank r its contiguous slice of them, so the same
state resumes exactly on any number of ranks with the same global batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llamapipe.formats.token_shards import TokenShardSet

SHUFFLE_BLOCK = 4096


@dataclass(frozen=True)
class TokenManifest:
    """What training needs from <run>/tokens/manifest.json."""

    vocab_size: int
    bos_id: int | None
    eos_id: int | None

    @classmethod
    def load(cls, tokens_dir: Path) -> TokenManifest:
        path = tokens_dir / "manifest.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{path}: no token manifest; run the tokenize stage first"
            ) from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        if "vocab_size" not in data:
            raise ValueError(f"{path}: missing 'vocab_size'")
        return cls(int(data["vocab_size"]), data.get("bos_id"), data.get("eos_id"))


class WindowOrder:
    """A seeded permutation of [0, n) evaluated element by element, fresh for every epoch."""

    def __init__(self, num_windows: int, seed: int, block: int = SHUFFLE_BLOCK) -> None:
        if num_windows <= 0:
            raise ValueError("no training windows: the token stream is shorter than one sequence")
        self.num_windows = num_windows
        self.seed = seed
        self.block = block
        self.num_blocks = (num_windows + block - 1) // block

    @lru_cache(maxsize=4)  # noqa: B019 - a handful of epochs, lives as long as the loader
    def _block_order(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch, 0])
        return rng.permutation(self.num_blocks)

    @lru_cache(maxsize=64)  # noqa: B019
    def _inner_order(self, epoch: int, block: int) -> np.ndarray:
        size = min(self.block, self.num_windows - block * self.block)
        rng = np.random.default_rng([self.seed, epoch, 1, block])
        return rng.permutation(size)

    def window(self, sample: int) -> int:
        """Which window is the sample-th one drawn (counting across epochs)."""
        epoch, position = divmod(sample, self.num_windows)
        blocks = self._block_order(epoch)
        # Only the last block may be short, and it can land anywhere in the permuted order, so
        # locate the position by the cumulative sizes of the permuted blocks.
        ends = self._block_ends(epoch)
        index = int(np.searchsorted(ends, position, side="right"))
        start = int(ends[index - 1]) if index > 0 else 0
        block = int(blocks[index])
        inner = self._inner_order(epoch, block)
        return block * self.block + int(inner[position - start])

    @lru_cache(maxsize=4)  # noqa: B019
    def _block_ends(self, epoch: int) -> np.ndarray:
        blocks = self._block_order(epoch)
        sizes = np.minimum(self.block, self.num_windows - blocks * self.block)
        return np.cumsum(sizes)


class TokenBatchLoader:
    """Micro-batches (inputs, targets) of one data-parallel rank, step by step."""

    def __init__(
        self,
        tokens_dir: Path,
        seq_len: int,
        global_batch_seqs: int,
        micro_batch_size: int,
        dp_rank: int,
        dp_size: int,
        seed: int,
    ) -> None:
        if global_batch_seqs % (dp_size * micro_batch_size) != 0:
            raise ValueError(
                f"global batch of {global_batch_seqs} sequences is not a multiple of "
                f"data-parallel ranks ({dp_size}) x micro batch ({micro_batch_size})"
            )
        train_dir = tokens_dir / "train"
        self.stream = TokenShardSet.from_directory(train_dir)
        self.seq_len = seq_len
        self.global_batch_seqs = global_batch_seqs
        self.micro_batch_size = micro_batch_size
        self.dp_rank = dp_rank
        self.dp_size = dp_size
        self.seed = seed
        num_windows = (self.stream.num_tokens - 1) // seq_len
        self.order = WindowOrder(num_windows, seed)
        self.samples_consumed = 0

    @property
    def accumulation_steps(self) -> int:
        return self.global_batch_seqs // (self.dp_size * self.micro_batch_size)

    def _window(self, sample: int) -> np.ndarray:
        start = self.order.window(sample) * self.seq_len
        return self.stream.tokens(start, self.seq_len + 1)

    def next_step(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's micro-batches for the next optimizer step; advances the state."""
        per_rank = self.global_batch_seqs // self.dp_size
        first = self.samples_consumed + self.dp_rank * per_rank
        micro_batches = []
        for m in range(self.accumulation_steps):
            base = first + m * self.micro_batch_size
            rows = np.stack(
                [self._window(base + i).astype(np.int64) for i in range(self.micro_batch_size)]
            )
            batch = torch.from_numpy(rows)
            micro_batches.append((batch[:, :-1].contiguous(), batch[:, 1:].contiguous()))
        self.samples_consumed += self.global_batch_seqs
        return micro_batches

    def state_dict(self) -> dict[str, Any]:
        return {
            "samples_consumed": self.samples_consumed,
            "seed": self.seed,
            "seq_len": self.seq_len,
            "global_batch_seqs": self.global_batch_seqs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("seed", "seq_len", "global_batch_seqs"):
            if state[key] != getattr(self, key):
                raise ValueError(
                    f"cannot resume the data loader: checkpoint has {key}={state[key]}, "
                    f"this run has {getattr(self, key)}"
                )
        self.samples_consumed = int(state["samples_consumed"])
