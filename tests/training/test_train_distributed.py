"""torchrun with gloo on CPU: FSDP2 and FSDP x TP train like one process; checkpoints reshard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from llamapipe.training import latest_checkpoint, load_model_for_inference, train
from llamapipe.training.checkpoint import saved_keys

from .helpers import metric_losses, tiny_config

pytestmark = pytest.mark.slow

COMMON = ["size=tiny", "global_batch_tokens=512", "micro_batch_size=2", "max_steps=6"]
COMMON += ["checkpoint_every=3", "display=none", "seed=11"]


def torchrun(processes: int, run_dir: Path, token_run: Path, *options: str) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc_per_node={processes}", "-m", "llamapipe.training", str(run_dir)]
    command += [*COMMON, f"tokens_dir={token_run / 'tokens'}", *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]


@pytest.fixture(scope="module")
def reference(token_run: Path, tmp_path_factory: pytest.TempPathFactory) -> list[float]:
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("one_process")
    return train(
        tiny_config(token_run, micro_batch_size=2, max_steps=6, checkpoint_every=3), run
    ).losses


def test_two_process_fsdp_matches_one_process(
    token_run: Path, tmp_path: Path, reference: list[float]
) -> None:
    torchrun(2, tmp_path, token_run)
    losses = metric_losses(tmp_path)
    assert [losses[s] for s in range(1, 7)] == pytest.approx(reference, abs=1e-4)
    manifest = json.loads((tmp_path / "train" / "tiny" / "manifest.json").read_text())
    assert manifest["world_size"] == 2


def test_fsdp_x_tp_matches_and_its_checkpoint_resumes_in_one_process(
    token_run: Path, tmp_path: Path, reference: list[float]
) -> None:
    # 4 processes on a 2 x 2 (dp, tp) mesh train the first 3 steps ...
    torchrun(4, tmp_path, token_run, "tp=2", "steps=3")
    losses = metric_losses(tmp_path)
    assert [losses[s] for s in range(1, 4)] == pytest.approx(reference[:3], abs=1e-4)
    checkpoint = latest_checkpoint(tmp_path / "train" / "tiny")
    assert checkpoint is not None and checkpoint.name == "step_000003"
    rng_keys = {key.split(".")[1] for key in saved_keys(checkpoint) if key.startswith("rng.")}
    assert rng_keys == {f"rank_{rank:05d}" for rank in range(4)}  # each rank its own RNG

    # ... the sharded checkpoint loads for inference in a plain process ...
    model, args = load_model_for_inference(checkpoint)
    with torch.no_grad():
        logits = model(torch.tensor([[1, 20, 30, 40, 50]]))
    assert logits.shape == (1, 5, args.vocab_size) and torch.isfinite(logits).all()

    # ... and model + optimizer reshard onto one process that finishes the run.
    train(tiny_config(token_run, micro_batch_size=2, max_steps=6, checkpoint_every=3), tmp_path)
    losses = metric_losses(tmp_path)
    assert [losses[s] for s in range(4, 7)] == pytest.approx(reference[3:], abs=1e-4)


def test_init_from_hf_gqa_model_under_fsdp_x_tp_matches_one_process(
    token_run: Path, tmp_path: Path
) -> None:
    """--init-from loads full HF weights into sharded DTensors (2 ranks, tp=2: one KV head each)
    and trains exactly as one process does from the same weights."""
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64,
        intermediate_size=192,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=512,
        max_position_embeddings=64,
        rope_theta=50_000.0,
        tie_word_embeddings=False,
    )
    torch.manual_seed(7)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path / "hf", safe_serialization=True)
    torch.set_num_threads(1)
    single = train(
        tiny_config(token_run, micro_batch_size=2, max_steps=3, init_from=str(tmp_path / "hf")),
        tmp_path / "one",
    ).losses
    torchrun(2, tmp_path / "two", token_run, "tp=2", "max_steps=3", f"init_from={tmp_path / 'hf'}")
    losses = metric_losses(tmp_path / "two")
    assert [losses[s] for s in range(1, 4)] == pytest.approx(single, abs=1e-4)
