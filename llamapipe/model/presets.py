"""Model sizes: the paper's Table 2, Llama 2's sizes, and small CPU presets.

Paper constants (LLaMA, Touvron et al. 2023, Table 2 and section 2.3): learning rate, batch of 4M
tokens, token budget. Llama 2 (Touvron et al. 2023b, Table 1): context 4096, 2T tokens, GQA with
8 KV heads for 70B (FFN hidden 28672 = 1.3 * 2/3 * 4 * 8192 rounded to 4096).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from llamapipe.model.args import ModelArgs

#: The paper's "4M tokens" batch is 2048 sequences of 2048 tokens = 4 * 2**20.
PAPER_BATCH_TOKENS = 2048 * 2048
BILLION = 1_000_000_000
TRILLION = 1_000_000_000_000


@dataclass(frozen=True)
class ModelPreset:
    """A model shape plus the optimisation settings it was (or is meant to be) trained with."""

    name: str
    args: ModelArgs
    lr: float
    batch_tokens: int
    train_tokens: int
    warmup_steps: int = 2000
    description: str = ""

    def with_vocab(self, vocab_size: int) -> ModelPreset:
        """The same preset over another tokenizer's vocabulary."""
        return replace(self, args=replace(self.args, vocab_size=vocab_size))


def _paper(dim: int, heads: int, layers: int, lr: float, tokens: int, label: str) -> ModelPreset:
    return ModelPreset(
        name=label,
        args=ModelArgs(dim=dim, n_heads=heads, n_layers=layers, vocab_size=32000, max_seq_len=2048),
        lr=lr,
        batch_tokens=PAPER_BATCH_TOKENS,
        train_tokens=tokens,
        description=f"LLaMA {label.upper()} (paper Table 2)",
    )


def _llama2(
    dim: int, heads: int, layers: int, lr: float, label: str, **extra: object
) -> ModelPreset:
    args = ModelArgs(
        dim=dim, n_heads=heads, n_layers=layers, vocab_size=32000, max_seq_len=4096, **extra
    )
    return ModelPreset(
        name=label,
        args=args,
        lr=lr,
        batch_tokens=PAPER_BATCH_TOKENS,
        train_tokens=2 * TRILLION,
        description=f"Llama 2 {label.split('-')[1].upper()}",
    )


PRESETS: dict[str, ModelPreset] = {
    "7b": _paper(4096, 32, 32, 3.0e-4, 1 * TRILLION, "7b"),
    "13b": _paper(5120, 40, 40, 3.0e-4, 1 * TRILLION, "13b"),
    "33b": _paper(6656, 52, 60, 1.5e-4, 1400 * BILLION, "33b"),
    "65b": _paper(8192, 64, 80, 1.5e-4, 1400 * BILLION, "65b"),
    "llama2-7b": _llama2(4096, 32, 32, 3.0e-4, "llama2-7b"),
    "llama2-13b": _llama2(5120, 40, 40, 3.0e-4, "llama2-13b"),
    "llama2-70b": _llama2(
        8192, 64, 80, 1.5e-4, "llama2-70b", n_kv_heads=8, ffn_dim_multiplier=1.3, multiple_of=4096
    ),
    # CPU presets. The vocabulary is replaced by the tokenizer's when training on real shards.
    "tiny": ModelPreset(
        name="tiny",
        args=ModelArgs(
            dim=64, n_layers=2, n_heads=4, vocab_size=512, multiple_of=32, max_seq_len=64
        ),
        lr=3e-3,
        batch_tokens=8 * 64,
        train_tokens=8 * 64 * 20,
        warmup_steps=2,
        description="unit tests: seconds on one core",
    ),
    "demo": ModelPreset(
        name="demo",
        args=ModelArgs(
            dim=256, n_layers=4, n_heads=4, vocab_size=32000, multiple_of=64, max_seq_len=256
        ),
        lr=1e-3,
        batch_tokens=16 * 256,
        train_tokens=16 * 256 * 300,
        warmup_steps=30,
        description="README demo: a few minutes on 2 CPU cores",
    ),
}


def get_preset(name: str) -> ModelPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model size {name!r}; known: {', '.join(PRESETS)}") from None


def count_parameters(model_or_args: nn.Module | ModelArgs) -> int:
    """Number of parameters; for ModelArgs the model is built on the meta device (no memory)."""
    if isinstance(model_or_args, ModelArgs):
        from llamapipe.model.transformer import build_transformer

        model_or_args = build_transformer(model_or_args, device="meta")
    return sum(p.numel() for p in model_or_args.parameters())


def flops_per_token(args: ModelArgs, seq_len: int | None = None) -> float:
    """Training FLOPs per token: 6 N + 12 L H d_head S (forward + backward, attention scores).

    N counts all parameters except the token embeddings (a lookup, not a matmul); the second term
    is QK^T and AV for a causal-agnostic full S x S attention, as in PaLM's MFU definition.
    """
    seq = seq_len if seq_len is not None else args.max_seq_len
    n = count_parameters(args) - args.vocab_size * args.dim
    return 6.0 * n + 12.0 * args.n_layers * args.n_heads * args.head_dim * seq


__all__ = ["PRESETS", "ModelPreset", "count_parameters", "flops_per_token", "get_preset"]
