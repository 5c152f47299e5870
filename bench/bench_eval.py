"""Evaluation and generation throughput, each against a baseline run in the same process.

Model: the README demo shape (dim 256, 4 layers, 4 heads, vocab 32000, context 256), random
weights (speed does not depend on them). Measured, best of ``--repeats`` alternating runs:

1. generation: our sampler with the KV cache vs Hugging Face ``LlamaForCausalLM.generate``
   (greedy, its own cache) on the exported twin of the same weights, and vs our sampler without
   the cache (what the cache buys);
2. multiple-choice scoring: batched ``score_requests`` (batch 16, length-sorted) vs one request
   per forward; and, for few-shot-shaped questions (long prompt, 4 choices), one prompt pass per
   question (``score_shared_context``) vs scoring every choice with its prompt;
3. held-out perplexity: the fused output-projection + cross-entropy path vs materialised logits.

Run: python -m bench.bench_eval [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from transformers import LlamaForCausalLM

from llamapipe.evaluation.generate import SamplingParams, generate_tokens
from llamapipe.evaluation.loglikelihood import (
    Request,
    hidden_states,
    score_requests,
    score_shared_context,
)
from llamapipe.evaluation.perplexity import stream_perplexity
from llamapipe.export.hf import write_hf_model
from llamapipe.formats.token_shards import TokenShardSet, TokenShardWriter
from llamapipe.model import ModelArgs, build_transformer

ARGS = ModelArgs(dim=256, n_layers=4, n_heads=4, vocab_size=32000, multiple_of=64, max_seq_len=256)
PROMPT_TOKENS, NEW_TOKENS = 64, 64


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def tiny_tokenizer(out: Path) -> Path:
    """A throwaway SentencePiece model so the export has a tokenizer (ids are not used)."""
    text = out / "text.txt"
    words = [f"word{i}" for i in range(400)]
    rng = random.Random(0)
    text.write_text("\n".join(" ".join(rng.choices(words, k=12)) for _ in range(2000)))
    spm.SentencePieceTrainer.train(
        input=str(text),
        model_prefix=str(out / "tok"),
        vocab_size=500,
        model_type="bpe",
        byte_fallback=True,
        remove_extra_whitespaces=False,
        minloglevel=2,
    )
    return out / "tok.model"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    torch.manual_seed(0)
    model = build_transformer(ARGS).eval().requires_grad_(False)
    prompt = torch.randint(3, ARGS.vocab_size, (PROMPT_TOKENS,)).tolist()

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        write_hf_model(model.state_dict(), ARGS, tiny_tokenizer(tmp_path), tmp_path / "hf")
        hf = LlamaForCausalLM.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
        greedy = SamplingParams(temperature=0.0, max_new_tokens=NEW_TOKENS)

        def ours_cached() -> list[int]:
            return generate_tokens(model, ARGS, prompt, greedy)

        def ours_uncached() -> list[int]:
            return generate_tokens(model, ARGS, prompt, greedy, use_cache=False)

        def theirs() -> torch.Tensor:
            with torch.inference_mode():
                return hf.generate(
                    torch.tensor([prompt]),
                    max_new_tokens=NEW_TOKENS,
                    min_new_tokens=NEW_TOKENS,
                    do_sample=False,
                    pad_token_id=0,
                )

        same = ours_cached() == theirs()[0, PROMPT_TOKENS:].tolist()
        t_ours = best_time(ours_cached, options.repeats)
        t_hf = best_time(theirs, options.repeats)
        t_nocache = best_time(ours_uncached, options.repeats)
        print(f"greedy tokens identical to HF generate: {same}")
        print(f"generation ours (KV cache): {NEW_TOKENS / t_ours:.1f} tokens/s")
        print(f"generation HF generate: {NEW_TOKENS / t_hf:.1f} tokens/s")
        print(f"ratio generation ours vs HF generate: {t_hf / t_ours:.2f}x")
        print(f"ratio generation KV cache vs no cache: {t_nocache / t_ours:.2f}x")

        rng = random.Random(0)

        def random_ids(low: int, high: int) -> tuple[int, ...]:
            return tuple(rng.randrange(3, ARGS.vocab_size) for _ in range(rng.randint(low, high)))

        requests = [Request(random_ids(20, 90), random_ids(3, 20)) for _ in range(96)]
        t_batched = best_time(
            lambda: score_requests(model, requests, batch_size=16, max_seq_len=256),
            options.repeats,
        )
        t_single = best_time(
            lambda: score_requests(model, requests, batch_size=1, max_seq_len=256),
            options.repeats,
        )
        print(f"multiple choice batched: {len(requests) / t_batched:.1f} requests/s")
        print(f"ratio multiple choice batched (16) vs one per forward: {t_single / t_batched:.2f}x")

        # Few-shot shape: a 160-token prompt shared by 4 choices of 4-16 tokens, 24 questions.
        questions = [
            (random_ids(160, 160), [random_ids(4, 16) for _ in range(4)]) for _ in range(24)
        ]
        flat = [Request(ctx, cont) for ctx, conts in questions for cont in conts]

        def independent() -> object:
            return score_requests(
                lambda t: hidden_states(model, t),
                flat,
                batch_size=16,
                max_seq_len=256,
                project=model.output,
            )

        def shared() -> object:
            return [
                score_shared_context(model, ARGS, ctx, conts, max_seq_len=256)
                for ctx, conts in questions
            ]

        t_independent = best_time(independent, options.repeats)
        t_shared = best_time(shared, options.repeats)
        ratio = t_independent / t_shared
        print(f"ratio few-shot choices, one prompt pass vs batched: {ratio:.2f}x")

        prefix = tmp_path / "valid" / "00000"
        prefix.parent.mkdir(parents=True)
        with TokenShardWriter(prefix, ARGS.vocab_size) as writer:
            writer.add_document(np.random.default_rng(0).integers(3, ARGS.vocab_size, 16 * 256 + 1))
        stream = TokenShardSet.from_directory(prefix.parent)

        def fused() -> object:
            return stream_perplexity(
                model,
                stream,
                max_seq_len=256,
                batch_size=8,
                mean_loss=lambda x, t: model(x, targets=t),
            )

        def logits_path() -> object:
            return stream_perplexity(model, stream, max_seq_len=256, batch_size=8)

        t_fused = best_time(fused, options.repeats)
        t_logits = best_time(logits_path, options.repeats)
        print(f"perplexity fused: {stream.num_tokens / t_fused:.0f} tokens/s")
        print(f"ratio perplexity fused loss vs materialised logits: {t_logits / t_fused:.2f}x")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
