"""lm-evaluation-harness's `hf` model on our export scores exactly as our own scorer does.

Runs where lm_eval is installed (it is not a llamapipe dependency); skipped otherwise.
"""

from __future__ import annotations

import json

import pytest
import torch

from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.loglikelihood import make_request, score_requests
from llamapipe.export.hf import write_hf_model
from llamapipe.model import build_transformer


def test_lm_eval_hf_model_loglikelihoods_match_ours(sp_model, tmp_path, tiny_args, realdata):
    huggingface = pytest.importorskip("lm_eval.models.huggingface", reason="lm_eval not installed")
    from lm_eval.api.instance import Instance

    torch.manual_seed(0)
    args = tiny_args(n_kv_heads=2)
    model = build_transformer(args).eval()
    write_hf_model(model.state_dict(), args, sp_model, tmp_path / "hf")
    harness = huggingface.HFLM(
        pretrained=str(tmp_path / "hf"), device="cpu", batch_size=4, dtype="float32"
    )
    lines = (realdata / "eval" / "llmfoundry_copa_all100.jsonl").read_text().splitlines()[:3]
    pairs = []
    for line in lines:
        record = json.loads(line)
        pairs.append((record["query"], " " + record["choices"][record["gold"]]))
    pairs.append(("  an indented context", " and its end"))
    instances = [
        Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i)
        for i, pair in enumerate(pairs)
    ]
    theirs = harness.loglikelihood(instances)
    encoder = SentencePieceEncoder(sp_model)
    ours = score_requests(
        model, [make_request(encoder, c, x) for c, x in pairs], batch_size=4, max_seq_len=64
    )
    for (loglik, greedy), score in zip(theirs, ours, strict=True):
        assert loglik == pytest.approx(score.logprob, abs=1e-4)
        assert greedy == score.is_greedy
