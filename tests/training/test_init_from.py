"""`llamapipe train --init-from`: continue pretraining a Hugging Face Llama model of its own shape.

The source is a real ``transformers.LlamaForCausalLM`` with grouped-query attention (2 KV heads
for 4 query heads), a non-default RoPE theta and norm epsilon, built and saved here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
import typer
from typer.testing import CliRunner

from llamapipe.cli.train import train_command
from llamapipe.export.hf import write_hf_model
from llamapipe.export.hf_import import import_hf
from llamapipe.model.args import ModelArgs
from llamapipe.training.data import TokenBatchLoader
from llamapipe.training.init_from import classify_source, read_source

transformers = pytest.importorskip("transformers")

VOCAB = 512  # the token_run fixture's tokenizer


def _hf_gqa_model(out: Path) -> transformers.LlamaForCausalLM:
    config = transformers.LlamaConfig(
        hidden_size=64,
        intermediate_size=192,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB,
        max_position_embeddings=64,
        rope_theta=50_000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
    )
    torch.manual_seed(7)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    return model


@pytest.fixture(scope="module")
def export_tokenizer(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LLaMA-style SentencePiece model (whitespace kept, as the HF export requires)."""
    out = tmp_path_factory.mktemp("sp")
    spm.SentencePieceTrainer.train(
        input=str(realdata / "books" / "pg35_time_machine_en.txt"),
        model_prefix=str(out / "tokenizer"),
        vocab_size=400,
        character_coverage=0.995,
        model_type="bpe",
        byte_fallback=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        num_threads=1,
        minloglevel=2,
    )
    return out / "tokenizer.model"


def _text(result) -> str:
    """The command's output with the console's line wrapping undone."""
    return " ".join(result.output.split())


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(train_command)
    return app


def _run_dir(token_run: Path, tmp_path: Path) -> Path:
    shutil.copytree(token_run / "tokens", tmp_path / "tokens")
    (tmp_path / "pipeline.toml").write_text(
        '[run]\ndir = "."\n[train]\nsize = "tiny"\nmax_steps = 5\ndisplay = "none"\n'
        "global_batch_tokens = 512\nmicro_batch_size = 4\nseed = 5\ncheckpoint_every = 0\n"
    )
    return tmp_path


def test_hf_gqa_model_trains_through_the_cli_and_round_trips(
    token_run, tmp_path, export_tokenizer
) -> None:
    source_dir = tmp_path / "hf_source"
    source = _hf_gqa_model(source_dir)
    run = _run_dir(token_run, tmp_path / "run")
    config = run / "pipeline.toml"

    # Untrained round trip: HF -> our Transformer -> HF export, logits exactly the original's.
    state, args = read_source(classify_source(source_dir))
    assert (args.n_heads, args.kv_heads, args.rope_theta, args.norm_eps) == (4, 2, 5e4, 1e-5)
    write_hf_model(state, args, export_tokenizer, tmp_path / "again")
    again = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "again").eval()
    ids = torch.randint(0, VOCAB, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(again(ids).logits, source(ids).logits)

    # Train 3 steps, then resume to 5: same run, exact continuation.
    first = CliRunner().invoke(
        _app(), ["-c", str(config), "--init-from", str(source_dir), "--steps", "3"]
    )
    assert first.exit_code == 0, first.output
    assert "steps 1-3 of 5" in _text(first) and "initialised from hf:" in _text(first)
    second = CliRunner().invoke(_app(), ["-c", str(config), "--init-from", str(source_dir)])
    assert second.exit_code == 0, second.output
    assert "steps 4-5 of 5" in _text(second)

    checkpoint = run / "train" / "tiny" / "checkpoints" / "step_000005"
    saved = ModelArgs.load(checkpoint / "model_args.json")
    assert (saved.n_kv_heads, saved.rope_theta, saved.norm_eps, saved.dim) == (2, 5e4, 1e-5, 64)
    trainer_state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert trainer_state["init_from"] == f"hf:{source_dir.resolve()}"

    records = [
        json.loads(line)
        for line in (run / "train" / "tiny" / "metrics.jsonl").read_text().splitlines()
    ]
    losses = [r["loss"] for r in records]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert losses[-1] < losses[0] - 0.05

    # Step 1's loss is the HF model's own loss on the first batch: its weights were loaded.
    loader = TokenBatchLoader(run / "tokens", 64, 8, 4, 0, 1, 5)
    with torch.no_grad():
        hf_losses = [
            torch.nn.functional.cross_entropy(
                source(inputs).logits.flatten(0, 1), targets.flatten()
            )
            for inputs, targets in loader.next_step()
        ]
    assert losses[0] == pytest.approx(float(sum(hf_losses) / len(hf_losses)), abs=1e-4)


def test_resume_refuses_another_source_and_no_resume_starts_over(token_run, tmp_path) -> None:
    source_dir = tmp_path / "hf_source"
    _hf_gqa_model(source_dir)
    run = _run_dir(token_run, tmp_path / "run")
    common = ["-c", str(run / "pipeline.toml"), "--steps", "1"]
    assert CliRunner().invoke(_app(), common).exit_code == 0  # random init, preset shape
    refused = CliRunner().invoke(_app(), [*common, "--steps", "2", "--init-from", str(source_dir)])
    assert refused.exit_code != 0
    assert "--no-resume" in str(refused.exception) + refused.output
    fresh = CliRunner().invoke(_app(), [*common, "--init-from", str(source_dir), "--no-resume"])
    assert fresh.exit_code == 0, fresh.output
    saved = ModelArgs.load(run / "train/tiny/checkpoints/step_000001/model_args.json")
    assert saved.n_kv_heads == 2


def test_import_hf_into_the_run_then_plain_train_starts_from_it(token_run, tmp_path) -> None:
    """The issue's path: import-hf --out <run>/train/<size>/checkpoints/step_000000; train."""
    source_dir = tmp_path / "hf_source"
    _hf_gqa_model(source_dir)
    run = _run_dir(token_run, tmp_path / "run")
    import_hf(source_dir, run / "train" / "tiny" / "checkpoints" / "step_000000")
    result = CliRunner().invoke(_app(), ["-c", str(run / "pipeline.toml"), "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "steps 1-2 of 5" in _text(result)
    assert "initialised from checkpoint:" in _text(result)
    saved = ModelArgs.load(run / "train/tiny/checkpoints/step_000002/model_args.json")
    assert saved.n_kv_heads == 2


def test_init_from_a_directory_that_is_neither_is_a_clear_error(token_run, tmp_path) -> None:
    run = _run_dir(token_run, tmp_path / "run")
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        _app(), ["-c", str(run / "pipeline.toml"), "--init-from", str(tmp_path / "empty")]
    )
    assert result.exit_code != 0
    assert "neither a Hugging Face model directory" in str(result.exception) + result.output
