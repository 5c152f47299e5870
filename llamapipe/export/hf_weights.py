"""Map weights between Meta's LLaMA layout (ours) and Hugging Face's ``LlamaForCausalLM``.

Two differences only:

1. Names: ``layers.N.attention.wq`` is ``model.layers.N.self_attn.q_proj`` and so on (table below).
2. Rotary layout: Meta rotates interleaved pairs (x[2i], x[2i+1]) of each head; Hugging Face's
   ``rotate_half`` rotates (x[i], x[i + head_dim/2]). The two agree when the output rows of
   ``wq`` and ``wk`` are permuted within each head: row ``2i + j`` (pair i, member j) moves to
   ``j * head_dim/2 + i``. Without it, logits differ by ~0.1 and nothing fails (FACTS.md). ``wv``
   and ``wo`` are untouched: attention scores are invariant to the order of the q/k dimensions as
   long as q and k use the same one.
"""

from __future__ import annotations

import re

import torch

from llamapipe.model.args import ModelArgs

# Meta name (with {i} for the layer) -> Hugging Face name.
_LAYER_NAMES = {
    "attention.wq.weight": "self_attn.q_proj.weight",
    "attention.wk.weight": "self_attn.k_proj.weight",
    "attention.wv.weight": "self_attn.v_proj.weight",
    "attention.wo.weight": "self_attn.o_proj.weight",
    "feed_forward.w1.weight": "mlp.gate_proj.weight",
    "feed_forward.w2.weight": "mlp.down_proj.weight",
    "feed_forward.w3.weight": "mlp.up_proj.weight",
    "attention_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
}
_TOP_NAMES = {
    "tok_embeddings.weight": "model.embed_tokens.weight",
    "norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_META_LAYER = re.compile(r"^layers\.(\d+)\.(.+)$")
_HF_LAYER = re.compile(r"^model\.layers\.(\d+)\.(.+)$")
_HF_TO_META_LAYER = {v: k for k, v in _LAYER_NAMES.items()}
_HF_TO_META_TOP = {v: k for k, v in _TOP_NAMES.items()}


def interleaved_to_half(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Permute q/k output rows from Meta's interleaved-pair RoPE to HF's half-split RoPE."""
    out_features, in_features = weight.shape
    head_dim = out_features // n_heads
    return (
        weight.reshape(n_heads, head_dim // 2, 2, in_features)
        .transpose(1, 2)
        .reshape(out_features, in_features)
    )


def half_to_interleaved(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Inverse of :func:`interleaved_to_half` (used when importing a Hugging Face checkpoint)."""
    out_features, in_features = weight.shape
    head_dim = out_features // n_heads
    return (
        weight.reshape(n_heads, 2, head_dim // 2, in_features)
        .transpose(1, 2)
        .reshape(out_features, in_features)
    )


def meta_to_hf_state_dict(
    state_dict: dict[str, torch.Tensor], args: ModelArgs
) -> dict[str, torch.Tensor]:
    """Our model's state dict -> a ``LlamaForCausalLM`` state dict (contiguous tensors).

    Unknown names are an error: silently dropping a weight would give a model that loads with
    random parameters.
    """
    converted: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        match = _META_LAYER.match(name)
        if match:
            layer, rest = match.groups()
            if rest not in _LAYER_NAMES:
                raise KeyError(f"no Hugging Face name for weight {name!r}")
            if rest == "attention.wq.weight":
                tensor = interleaved_to_half(tensor, args.n_heads)
            elif rest == "attention.wk.weight":
                tensor = interleaved_to_half(tensor, args.kv_heads)
            hf_name = f"model.layers.{layer}.{_LAYER_NAMES[rest]}"
        elif name in _TOP_NAMES:
            hf_name = _TOP_NAMES[name]
        else:
            raise KeyError(f"no Hugging Face name for weight {name!r}")
        converted[hf_name] = tensor.detach().contiguous()
    return converted


def hf_to_meta_state_dict(
    state_dict: dict[str, torch.Tensor], args: ModelArgs
) -> dict[str, torch.Tensor]:
    """A ``LlamaForCausalLM`` state dict -> our model's state dict (inverse q/k permutation).

    Rotary inverse-frequency buffers some checkpoints carry are skipped (we recompute them); any
    other unknown name is an error.
    """
    converted: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        if name.endswith("rotary_emb.inv_freq"):
            continue
        match = _HF_LAYER.match(name)
        if match:
            layer, rest = match.groups()
            if rest not in _HF_TO_META_LAYER:
                raise KeyError(f"unexpected weight {name!r} in a Hugging Face Llama checkpoint")
            meta_rest = _HF_TO_META_LAYER[rest]
            if meta_rest == "attention.wq.weight":
                tensor = half_to_interleaved(tensor, args.n_heads)
            elif meta_rest == "attention.wk.weight":
                tensor = half_to_interleaved(tensor, args.kv_heads)
            meta_name = f"layers.{layer}.{meta_rest}"
        elif name in _HF_TO_META_TOP:
            meta_name = _HF_TO_META_TOP[name]
        else:
            raise KeyError(f"unexpected weight {name!r} in a Hugging Face Llama checkpoint")
        converted[meta_name] = tensor.detach().contiguous()
    return converted


def hf_config_dict(
    args: ModelArgs,
    intermediate_size: int,
    bos_token_id: int | None,
    eos_token_id: int | None,
    pad_token_id: int | None,
    torch_dtype: str = "float32",
) -> dict:
    """``config.json`` for ``LlamaForCausalLM`` describing the same network as ``args``.

    LLaMA-1 values (FACTS.md): rms_norm_eps 1e-6, rope_theta 10000, max_position_embeddings 2048,
    untied output; they come from ``args`` so other presets export faithfully too.
    """
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": args.dim,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": args.n_layers,
        "num_attention_heads": args.n_heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": args.max_seq_len,
        "rms_norm_eps": args.norm_eps,
        # transformers 5 reads rope_parameters; v4, vLLM and llama.cpp's converter read
        # rope_theta: both say the same.
        "rope_theta": args.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": args.rope_theta},
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "tie_word_embeddings": False,
        "vocab_size": args.vocab_size,
        "initializer_range": 0.02,
        "use_cache": True,
        "bos_token_id": bos_token_id,
        "eos_token_id": eos_token_id,
        "pad_token_id": pad_token_id,
        "dtype": torch_dtype,  # transformers 5 name
        "torch_dtype": torch_dtype,  # transformers 4 name
    }


def model_args_from_hf_config(config: dict, attention: str = "sdpa") -> tuple[ModelArgs, int]:
    """ModelArgs for an HF Llama ``config.json`` plus its FFN width (checked against the weights).

    Our FFN width is derived from dim/multiple_of/ffn_dim_multiplier, so the returned ModelArgs
    reproduces ``intermediate_size`` by choosing ``multiple_of = intermediate_size`` when the
    default rule does not give it (wider than the 2/3*4d base, e.g. Llama 2 70B's 28672), or a
    ``ffn_dim_multiplier`` below 1 when it is narrower.
    """
    if config.get("model_type") not in (None, "llama"):
        raise ValueError(f"config.json: model_type is {config.get('model_type')!r}, not 'llama'")
    if config.get("tie_word_embeddings"):
        raise ValueError("config.json: tied input/output embeddings are not a LLaMA layout")
    if config.get("rope_scaling"):
        raise ValueError("config.json: rope_scaling is not supported (LLaMA uses plain RoPE)")
    dim = int(config["hidden_size"])
    n_heads = int(config["num_attention_heads"])
    head_dim = config.get("head_dim")
    if head_dim is not None and int(head_dim) != dim // n_heads:
        raise ValueError(f"config.json: head_dim {head_dim} != hidden_size / heads")
    intermediate = int(config["intermediate_size"])
    n_kv = config.get("num_key_value_heads")
    rope_theta = config.get("rope_theta")
    if rope_theta is None:
        rope_theta = (config.get("rope_parameters") or {}).get("rope_theta", 10000.0)
    common = dict(
        dim=dim,
        n_layers=int(config["num_hidden_layers"]),
        n_heads=n_heads,
        n_kv_heads=None if n_kv in (None, n_heads) else int(n_kv),
        vocab_size=int(config["vocab_size"]),
        norm_eps=float(config.get("rms_norm_eps", 1e-6)),
        rope_theta=float(rope_theta),
        max_seq_len=int(config.get("max_position_embeddings", 2048)),
        attention=attention,
    )
    base_hidden = int(2 * (4 * dim) / 3)
    candidates = [
        {},
        {"multiple_of": intermediate},
        # Narrower than 2/3*4d: scale the base (int() floors, hence the half).
        {"multiple_of": 1, "ffn_dim_multiplier": (intermediate + 0.5) / base_hidden},
    ]
    for extra in candidates:
        args = ModelArgs(**common, **extra)
        if args.ffn_hidden_dim == intermediate:
            return args, intermediate
    raise ValueError(
        f"config.json: intermediate_size {intermediate} cannot be expressed by ModelArgs"
    )
