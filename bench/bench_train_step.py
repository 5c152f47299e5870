"""Training-step throughput of llamapipe's Transformer against Hugging Face LlamaForCausalLM.

Same shape (dim 256, 4 layers, 4 heads, seq 256, vocab 32000, batch 8), same weights (HF's q/k
rows permuted from Meta's interleaved RoPE layout to rotate_half, checked by comparing logits),
same AdamW. A step is forward + loss + backward + optimizer step. HF uses SDPA attention and its
own causal-LM loss (fp32 logits + cross_entropy); llamapipe uses SDPA and the chunked fused
output projection + cross-entropy. Runs alternate (ours, HF, ours, HF, ...) in one process and
the best of each is kept, in fp32 and under bf16 autocast. Also printed: each as a fraction of
this machine's measured matmul peak, with FLOPs/token = 6 N + 12 L H d_head S.
Target: ours >= 1.3x HF on CPU.

Run: python -m bench.bench_train_step [--repeats 3] [--steps 2] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from llamapipe.model import ModelArgs, Transformer, flops_per_token
from llamapipe.training.metrics import measure_matmul_peak

ARGS = ModelArgs(dim=256, n_layers=4, n_heads=4, vocab_size=32000, max_seq_len=256)
BATCH, SEQ = 8, 256


def meta_to_hf_rows(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """Reorder q/k rows from interleaved pairs (Meta) to halves (HF rotate_half)."""
    out_dim, in_dim = weight.shape
    head_dim = out_dim // heads
    return weight.view(heads, head_dim // 2, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def hf_twin(ours: Transformer) -> LlamaForCausalLM:
    a = ours.args
    config = LlamaConfig(
        hidden_size=a.dim,
        intermediate_size=a.ffn_hidden_dim,
        num_hidden_layers=a.n_layers,
        num_attention_heads=a.n_heads,
        num_key_value_heads=a.kv_heads,
        vocab_size=a.vocab_size,
        rms_norm_eps=a.norm_eps,
        rope_theta=a.rope_theta,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        attn_implementation="sdpa",
    )
    hf = LlamaForCausalLM(config)
    state = {
        "model.embed_tokens.weight": ours.tok_embeddings.weight,
        "model.norm.weight": ours.norm.weight,
        "lm_head.weight": ours.output.weight,
    }
    for i, block in ours.layers.items():
        p = f"model.layers.{i}."
        state[p + "self_attn.q_proj.weight"] = meta_to_hf_rows(block.attention.wq.weight, a.n_heads)
        state[p + "self_attn.k_proj.weight"] = meta_to_hf_rows(
            block.attention.wk.weight, a.kv_heads
        )
        state[p + "self_attn.v_proj.weight"] = block.attention.wv.weight
        state[p + "self_attn.o_proj.weight"] = block.attention.wo.weight
        state[p + "mlp.gate_proj.weight"] = block.feed_forward.w1.weight
        state[p + "mlp.down_proj.weight"] = block.feed_forward.w2.weight
        state[p + "mlp.up_proj.weight"] = block.feed_forward.w3.weight
        state[p + "input_layernorm.weight"] = block.attention_norm.weight
        state[p + "post_attention_layernorm.weight"] = block.ffn_norm.weight
    missing, unexpected = hf.load_state_dict({k: v.detach().clone() for k, v in state.items()})
    assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
    return hf


def step_ours(model, optimizer, batch: torch.Tensor) -> None:
    loss = model(batch[:, :-1], targets=batch[:, 1:])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def step_hf(model, optimizer, batch: torch.Tensor) -> None:
    # HF shifts the labels itself: inputs are the same SEQ tokens as ours.
    inputs = batch[:, :-1]
    loss = model(input_ids=inputs, labels=inputs).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def timed(step, model, optimizer, batch, steps: int, precision: str) -> float:
    ctx = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if precision == "bf16"
        else contextlib.nullcontext()
    )
    with ctx:
        step(model, optimizer, batch)  # warm-up (allocations, optimizer state)
        start = time.perf_counter()
        for _ in range(steps):
            step(model, optimizer, batch)
    return steps * BATCH * SEQ / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)

    torch.manual_seed(0)
    ours = Transformer(ARGS)
    hf = hf_twin(ours)
    batch = torch.randint(0, ARGS.vocab_size, (BATCH, SEQ + 1))
    with torch.no_grad():
        diff = (ours(batch[:, :SEQ]) - hf(input_ids=batch[:, :SEQ]).logits).abs().max().item()
    print(f"same weights: max |logits ours - HF| = {diff:.2e}")
    assert diff < 1e-4, "the two models do not compute the same function"

    fpt = flops_per_token(ARGS, SEQ)
    print(f"threads {torch.get_num_threads()}, FLOPs/token {fpt:.4g}")
    for precision in ("fp32", "bf16"):
        peak = measure_matmul_peak(torch.bfloat16 if precision == "bf16" else torch.float32)
        # The same optimizer for both (fused AdamW, as llamapipe's trainer uses).
        opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-4, betas=(0.9, 0.95), fused=True)
        opt_hf = torch.optim.AdamW(hf.parameters(), lr=1e-4, betas=(0.9, 0.95), fused=True)
        best_ours = best_hf = 0.0
        for _ in range(options.repeats):
            best_ours = max(
                best_ours, timed(step_ours, ours, opt_ours, batch, options.steps, precision)
            )
            best_hf = max(best_hf, timed(step_hf, hf, opt_hf, batch, options.steps, precision))
        print(
            f"{precision}: llamapipe {best_ours:,.0f} tokens/s "
            f"({100 * best_ours * fpt / peak:.0f}% of {peak / 1e9:.0f} GFLOP/s matmul peak), "
            f"HF LlamaForCausalLM {best_hf:,.0f} tokens/s ({100 * best_hf * fpt / peak:.0f}%)"
        )
        print(f"ratio train step {precision} llamapipe vs HF: {best_ours / best_hf:.2f}x")


if __name__ == "__main__":
    main()
