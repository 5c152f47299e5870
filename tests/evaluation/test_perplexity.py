"""Held-out perplexity windows and scoring against a direct computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.loglikelihood import make_request, score_requests, score_shared_context
from llamapipe.evaluation.perplexity import heldout_perplexity, plan_windows, stream_perplexity
from llamapipe.evaluation.runner import hidden_states
from llamapipe.formats.token_shards import TokenShardSet, TokenShardWriter
from llamapipe.model import build_transformer


@pytest.mark.parametrize(
    ("num_tokens", "seq", "stride"),
    [(100, 16, 16), (100, 16, 5), (17, 16, 8), (2, 4, 4), (50, 7, 1)],
)
def test_windows_score_every_target_once(num_tokens, seq, stride):
    scored = []
    for window in plan_windows(num_tokens, seq, stride):
        assert 1 <= window.length <= seq and window.scored <= window.length
        last = window.start + window.length
        scored.extend(range(last - window.scored + 1, last + 1))
    assert scored == list(range(1, num_tokens))


def _encode_book(realdata, sp_model, chars: int) -> list[int]:
    encoder = SentencePieceEncoder(sp_model)
    text = (realdata / "books" / "pg35_time_machine_en.txt").read_text(encoding="utf-8")[:chars]
    return [encoder.bos_id, *encoder.encode(text)]


def test_disjoint_windows_match_direct_loss(tmp_path, realdata, sp_model, tiny_args):
    torch.manual_seed(0)
    args = tiny_args(max_seq_len=32)
    model = build_transformer(args).eval()
    ids = _encode_book(realdata, sp_model, 2000)[: 32 * 5 + 1]
    with TokenShardWriter(tmp_path / "00000", args.vocab_size) as writer:
        writer.add_document(ids)
    stream = TokenShardSet.from_directory(tmp_path)
    result = stream_perplexity(model, stream, max_seq_len=32, batch_size=2)
    tokens = torch.tensor(ids)
    with torch.no_grad():
        logits = model(tokens[:-1].view(5, 32))
    direct = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[1:], reduction="sum")
    assert result.tokens == 160 and result.windows == 5
    assert result.nll == pytest.approx(float(direct), rel=1e-5)
    assert result.perplexity == pytest.approx(math.exp(float(direct) / 160), rel=1e-5)
    sliding = stream_perplexity(model, stream, max_seq_len=32, stride=8, batch_size=3)
    assert sliding.tokens == 160 and sliding.windows > 5
    fused = stream_perplexity(
        model,
        stream,
        max_seq_len=32,
        stride=8,
        batch_size=3,
        mean_loss=lambda x, t: model(x, targets=t),
    )
    assert fused.tokens == sliding.tokens
    assert fused.nll == pytest.approx(sliding.nll, rel=1e-5)


def test_heldout_perplexity_per_source_and_token_weighted_total(
    tmp_path, realdata, sp_model, tiny_args
):
    torch.manual_seed(0)
    args = tiny_args(max_seq_len=32)
    model = build_transformer(args).eval()
    ids = _encode_book(realdata, sp_model, 3000)
    for source, (a, b) in {"books": (0, 150), "wikipedia": (150, 230)}.items():
        directory = tmp_path / "valid" / source
        directory.mkdir(parents=True)
        with TokenShardWriter(directory / "00000", args.vocab_size) as writer:
            writer.add_document(np.asarray(ids[a:b]))
    results = heldout_perplexity(model, tmp_path, max_seq_len=32, max_tokens=100)
    assert set(results) == {"books", "wikipedia", "all"}
    assert results["books"]["tokens"] == 99 and results["wikipedia"]["tokens"] == 79
    total_nll = sum(results[s]["loss"] * results[s]["tokens"] for s in ("books", "wikipedia"))
    assert results["all"]["loss"] == pytest.approx(total_nll / 178)


def test_continuation_split_and_batched_scores_match_single(sp_model, tiny_args):
    encoder = SentencePieceEncoder(sp_model)
    request = make_request(encoder, "Question: who wrote it?\nAnswer:", " Mr. Wells")
    whole = encoder.encode("Question: who wrote it?\nAnswer: Mr. Wells")
    assert list(request.context[1:] + request.continuation) == whole
    assert request.context[0] == encoder.bos_id
    assert encoder.decode(list(request.continuation)).strip() == "Mr. Wells"

    torch.manual_seed(0)
    args = tiny_args(max_seq_len=64)
    model = build_transformer(args).eval()
    requests = [
        make_request(encoder, "The Time Traveller", " smiled."),
        make_request(encoder, "It was a", " long and curious story, told at night."),
        make_request(encoder, "Hello", " world"),
    ]
    batched = score_requests(model, requests, batch_size=3, max_seq_len=64)
    projected = score_requests(
        lambda tokens: hidden_states(model, tokens),
        requests,
        batch_size=2,
        max_seq_len=64,
        project=model.output,
    )
    assert [s.num_tokens for s in projected] == [s.num_tokens for s in batched]
    for a, b in zip(batched, projected, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4) and a.is_greedy == b.is_greedy
    single = [score_requests(model, [r], batch_size=1, max_seq_len=64)[0] for r in requests]
    for a, b in zip(batched, single, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert a.num_tokens == b.num_tokens
    # Direct computation for the first request.
    seq = torch.tensor([list(requests[0].context + requests[0].continuation)])
    with torch.no_grad():
        logp = torch.log_softmax(model(seq[:, :-1]), dim=-1)[0]
    n = len(requests[0].continuation)
    targets = seq[0, -n:]
    expected = logp[-n:].gather(-1, targets[:, None]).sum()
    assert batched[0].logprob == pytest.approx(float(expected), abs=1e-4)


def test_shared_context_scores_equal_independent_scores(sp_model, tiny_args):
    encoder = SentencePieceEncoder(sp_model)
    torch.manual_seed(0)
    args = tiny_args(max_seq_len=64)
    model = build_transformer(args).eval()
    prompt = "The Time Traveller (for so it will be convenient to speak of him) was expounding"
    choices = [" a recondite matter to us.", " nothing", " his theory of time, at length and well."]
    requests = [make_request(encoder, prompt, choice) for choice in choices]
    assert len({r.context for r in requests}) == 1
    independent = score_requests(model, requests, batch_size=4, max_seq_len=64)
    shared = score_shared_context(
        model, args, requests[0].context, [r.continuation for r in requests], max_seq_len=64
    )
    for a, b in zip(independent, shared, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert (a.is_greedy, a.num_tokens) == (b.is_greedy, b.num_tokens)
    # A context longer than the window is left-truncated, still one pass.
    long_context = requests[0].context * 4
    truncated = score_shared_context(
        model, args, long_context, [r.continuation for r in requests], max_seq_len=64
    )
    assert len(truncated) == 3 and all(s.logprob < 0 for s in truncated)
