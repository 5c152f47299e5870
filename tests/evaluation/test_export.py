"""HF export: transformers loads it and gives our logits; import inverts it; tokenizer ids match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
import transformers

from llamapipe.export.hf import write_hf_model
from llamapipe.export.hf_import import import_hf
from llamapipe.export.hf_weights import (
    half_to_interleaved,
    interleaved_to_half,
    model_args_from_hf_config,
)
from llamapipe.export.safetensors_io import INDEX_FILE, SINGLE_FILE
from llamapipe.model import build_transformer
from llamapipe.training.checkpoint import load_model_for_inference

VOCAB = 1000  # the sp_model fixture's vocabulary


@pytest.mark.parametrize("n_kv_heads", [None, 2], ids=["mha", "gqa"])
def test_transformers_loads_export_with_equal_logits(sp_model, tmp_path, n_kv_heads, tiny_args):
    torch.manual_seed(0)
    args = tiny_args(n_kv_heads)
    model = build_transformer(args).eval()
    out = tmp_path / "hf"
    write_hf_model(model.state_dict(), args, sp_model, out)

    config = json.loads((out / "config.json").read_text())
    assert config["num_key_value_heads"] == (n_kv_heads or 4)
    assert config["tie_word_embeddings"] is False
    assert config["rms_norm_eps"] == 1e-6 and config["rope_theta"] == 10000.0
    assert config["max_position_embeddings"] == args.max_seq_len

    hf = transformers.LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    tokens = torch.randint(0, VOCAB, (2, args.max_seq_len))
    with torch.no_grad():
        ours = model(tokens)
        theirs = hf(tokens).logits
    assert (ours - theirs).abs().max().item() < 1e-4


def test_without_qk_permutation_logits_differ(sp_model, tmp_path, tiny_args):
    """The permutation is what makes the logits agree (guards against a no-op mapping)."""
    torch.manual_seed(0)
    args = tiny_args()
    model = build_transformer(args).eval()
    state = model.state_dict()
    # Pre-apply the inverse, so the export's permutation cancels out and HF gets raw Meta rows.
    for name in list(state):
        if name.endswith(("wq.weight", "wk.weight")):
            state[name] = half_to_interleaved(state[name], args.n_heads)
    write_hf_model(state, args, sp_model, tmp_path / "hf")
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "hf", dtype=torch.float32)
    tokens = torch.randint(0, VOCAB, (1, 32))
    with torch.no_grad():
        assert (model(tokens) - hf(tokens).logits).abs().max().item() > 1e-3


def test_permutation_inverse():
    weight = torch.randn(64, 48)
    assert torch.equal(half_to_interleaved(interleaved_to_half(weight, 4), 4), weight)
    assert not torch.equal(interleaved_to_half(weight, 4), weight)


def test_large_weights_are_sharded_with_index(sp_model, tmp_path, tiny_args):
    torch.manual_seed(0)
    args = tiny_args()
    model = build_transformer(args)
    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "hf", max_shard_bytes=100_000)
    index = json.loads((tmp_path / "hf" / INDEX_FILE).read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 1 and not (tmp_path / "hf" / SINGLE_FILE).exists()
    assert files[0] == f"model-00001-of-{len(files):05d}.safetensors"
    total = sum(p.numel() * 4 for p in model.parameters())
    assert index["metadata"]["total_size"] == total

    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "one")
    assert (tmp_path / "one" / SINGLE_FILE).exists()
    assert not (tmp_path / "one" / INDEX_FILE).exists()


@pytest.mark.parametrize("n_kv_heads", [None, 2], ids=["mha", "gqa"])
def test_import_of_export_is_identity(sp_model, tmp_path, n_kv_heads, tiny_args):
    torch.manual_seed(1)
    args = tiny_args(n_kv_heads)
    model = build_transformer(args)
    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "hf", max_shard_bytes=150_000)
    checkpoint = import_hf(tmp_path / "hf", tmp_path / "ckpt")
    loaded, loaded_args = load_model_for_inference(checkpoint)
    assert loaded_args == args
    original = model.state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, original[name]), name
    assert json.loads((checkpoint / "trainer_state.json").read_text())["step"] == 0


def test_import_rejects_unknown_weights(sp_model, tmp_path, tiny_args):
    args = tiny_args()
    state = build_transformer(args).state_dict()
    write_hf_model(state, args, sp_model, tmp_path / "hf")
    from safetensors.torch import load_file, save_file

    weights = load_file(str(tmp_path / "hf" / SINGLE_FILE))
    weights["model.layers.0.self_attn.q_proj.bias"] = torch.zeros(64)
    save_file(weights, str(tmp_path / "hf" / SINGLE_FILE))
    with pytest.raises(KeyError, match="q_proj.bias"):
        import_hf(tmp_path / "hf", tmp_path / "ckpt")


def test_llama2_70b_ffn_width_round_trips_through_config():
    """intermediate_size 28672 (Llama 2 70B) maps back to ModelArgs with the same FFN width."""
    config = {
        "model_type": "llama",
        "hidden_size": 8192,
        "intermediate_size": 28672,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "vocab_size": 32000,
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 4096,
    }
    args, intermediate = model_args_from_hf_config(config)
    assert args.ffn_hidden_dim == intermediate == 28672
    assert args.kv_heads == 8 and args.max_seq_len == 4096


def real_lines(realdata: Path) -> list[str]:
    lines = (
        (realdata / "multilingual" / "tatoeba_CC0_nonascii_sample.tsv")
        .read_text(encoding="utf-8")
        .splitlines()[:200]
    )
    candide = (realdata / "books" / "pg4650_candide_fr.txt").read_text(encoding="utf-8")
    lines += candide.split("\n\n")[:200]  # includes indented title lines
    return lines + ["  leading spaces", "\tTab", "trailing ", "x\n\ny", "digits 12345"]


def test_exported_tokenizer_gives_sentencepiece_ids(sp_model, realdata, tmp_path, tiny_args):
    args = tiny_args()
    write_hf_model(build_transformer(args).state_dict(), args, sp_model, tmp_path / "hf")
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    lines = real_lines(realdata)
    for line in lines:
        ids = hf_tok(line, add_special_tokens=False)["input_ids"]
        assert ids == sp.encode(line), line[:60]
        assert hf_tok.decode(ids) == line
    assert hf_tok("hello")["input_ids"][0] == sp.bos_id()
    assert hf_tok.eos_token_id == sp.eos_id()


def test_rope_theta_and_norm_eps_reach_transformers(sp_model, tmp_path, tiny_args):
    """Llama-2/3-style settings: a wrong config key would leave HF at its defaults."""
    from dataclasses import replace

    torch.manual_seed(0)
    args = replace(tiny_args(), rope_theta=500000.0, norm_eps=1e-5)
    model = build_transformer(args).eval()
    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "hf")
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert hf.dtype == torch.float32
    tokens = torch.randint(0, VOCAB, (1, args.max_seq_len))
    with torch.no_grad():
        assert (model(tokens) - hf(tokens).logits).abs().max().item() < 1e-4


def test_bfloat16_export(sp_model, tmp_path, tiny_args):
    torch.manual_seed(0)
    args = tiny_args()
    model = build_transformer(args)
    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "hf", dtype="bfloat16")
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "hf")
    assert hf.dtype == torch.bfloat16
    expected = model.state_dict()["tok_embeddings.weight"].to(torch.bfloat16)
    assert torch.equal(hf.model.embed_tokens.weight, expected)


def test_imported_checkpoint_initialises_training(sp_model, tmp_path, tiny_args):
    """The trainer's own loader (model only, no optimizer state) accepts an imported model."""
    from llamapipe.training.checkpoint import load_training_checkpoint

    torch.manual_seed(2)
    args = tiny_args()
    source = build_transformer(args)
    write_hf_model(source.state_dict(), args, sp_model, tmp_path / "hf")
    checkpoint = import_hf(tmp_path / "hf", tmp_path / "ckpt")
    torch.manual_seed(3)
    fresh = build_transformer(args)
    state = load_training_checkpoint(checkpoint, fresh, None)
    assert state["step"] == 0
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(tensor, source.state_dict()[name]), name
