"""The LLaMA model: arguments, the transformer, the KV cache, size presets."""

from llamapipe.model.args import ModelArgs
from llamapipe.model.kv_cache import KVCache
from llamapipe.model.presets import (
    PRESETS,
    ModelPreset,
    count_parameters,
    flops_per_token,
    get_preset,
)
from llamapipe.model.transformer import Transformer, TransformerBlock, build_transformer

__all__ = [
    "PRESETS",
    "KVCache",
    "ModelArgs",
    "ModelPreset",
    "Transformer",
    "TransformerBlock",
    "build_transformer",
    "count_parameters",
    "flops_per_token",
    "get_preset",
]
