"""End to end on a real (tiny) training run: train through the training API on real text, then
evaluate, export and generate from its checkpoint, and compare with a random-init model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers

from llamapipe.config import PipelineConfig
from llamapipe.evaluation.encoder import SentencePieceEncoder
from llamapipe.evaluation.generate import SamplingParams, generate_text
from llamapipe.evaluation.plots import plot_loss_curve
from llamapipe.evaluation.runner import evaluate_model, results_path, run_eval, tokens_dir
from llamapipe.export.runner import run_export
from llamapipe.model import build_transformer
from llamapipe.training.checkpoint import load_model_for_inference


@pytest.mark.slow
def test_eval_of_trained_checkpoint_beats_random_init(trained_run: PipelineConfig):
    cfg = trained_run
    results = run_eval(cfg)
    path = results_path(cfg, Path(results["checkpoint"]))
    assert path == cfg.run_dir / "eval" / "tiny-step_000060" / "results.json"
    assert json.loads(path.read_text()) == json.loads(json.dumps(results))
    assert set(results["perplexity"]) == {"books", "c4", "all"}
    assert set(results["tasks"]) == {"copa", "arc_easy", "hellaswag"}
    assert results["tasks"]["copa"]["num_items"] == 40
    assert results["tasks"]["arc_easy"]["few_shot"] == 2
    assert results["tasks"]["arc_easy"]["acc_uncond"] is not None
    assert results["tasks"]["copa"]["acc_uncond"] is None
    for row in results["tasks"].values():
        assert 0.0 <= row["acc"] <= 1.0 and 0.0 <= row["acc_norm"] <= 1.0

    model, args = load_model_for_inference(Path(results["checkpoint"]))
    torch.manual_seed(123)
    random_model = build_transformer(args).eval()
    encoder = SentencePieceEncoder(cfg.run_dir / "tokenizer" / "tokenizer.model")
    random_results = evaluate_model(
        random_model, args, encoder, cfg.eval, base_dir=cfg.base_dir, tokens=tokens_dir(cfg)
    )
    trained_ppl = results["perplexity"]
    random_ppl = random_results["perplexity"]
    for source in ("books", "c4", "all"):
        assert trained_ppl[source]["tokens"] == random_ppl[source]["tokens"]
        # A random model sits near the uniform ln(1000) ~ 6.9 nats; 60 steps get well below.
        assert trained_ppl[source]["loss"] < random_ppl[source]["loss"] - 0.5, source
    for name, row in results["tasks"].items():
        random_row = random_results["tasks"][name]
        assert row["gold_logprob_per_token"] > random_row["gold_logprob_per_token"], name
        assert (row["acc"], row["acc_norm"], row["gold_logprob_per_token"]) != (
            random_row["acc"],
            random_row["acc_norm"],
            random_row["gold_logprob_per_token"],
        )

    # Second call: same checkpoint and settings -> the stored results, not recomputed.
    mtime = path.stat().st_mtime_ns
    assert run_eval(cfg) == results and path.stat().st_mtime_ns == mtime
    changed = cfg.model_copy(deep=True)
    changed.eval.tasks[0].limit = 10
    assert run_eval(changed)["tasks"]["copa"]["num_items"] == 10
    # Same checkpoint name, rewritten weights (training rerun): recomputed, not reused.
    state = Path(results["checkpoint"]) / "trainer_state.json"
    state.write_text(state.read_text())
    assert run_eval(cfg)["checkpoint_fingerprint"] != results["checkpoint_fingerprint"]


@pytest.mark.slow
def test_export_of_trained_checkpoint_and_generation(trained_run: PipelineConfig):
    cfg = trained_run
    out = run_export(cfg)
    assert out == cfg.run_dir / "export" / "hf"
    model, args = load_model_for_inference(
        cfg.run_dir / "train" / "tiny" / "checkpoints" / "step_000060"
    )
    hf = transformers.LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    ids = tokenizer("The Time Traveller smiled at us.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert (model(ids) - hf(ids).logits).abs().max().item() < 1e-4
    stamp = (out / "config.json").stat().st_mtime_ns
    assert run_export(cfg) == out and (out / "config.json").stat().st_mtime_ns == stamp

    encoder = SentencePieceEncoder(cfg.run_dir / "tokenizer" / "tokenizer.model")
    params = SamplingParams(temperature=0.8, top_p=0.9, max_new_tokens=20, seed=5)
    first = generate_text(model, args, encoder, "Alice was", params)
    assert first == generate_text(model, args, encoder, "Alice was", params)
    assert first.strip()


@pytest.mark.slow
def test_loss_curve_png_from_training_metrics(trained_run: PipelineConfig, tmp_path: Path):
    metrics = trained_run.run_dir / "train" / "tiny" / "metrics.jsonl"
    copy = tmp_path / "metrics.jsonl"
    copy.write_text(metrics.read_text() + '{"step": 61, "lo')  # a run killed mid-write
    png = plot_loss_curve(copy, tmp_path / "plots" / "loss.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    with pytest.raises(ValueError, match="no records"):
        (tmp_path / "empty.jsonl").write_text('{"event": "start"}\n')
        plot_loss_curve(tmp_path / "empty.jsonl", tmp_path / "x.png")


def _cli_app():
    import typer

    from llamapipe.cli.eval import eval_command
    from llamapipe.cli.export import export_command, import_command
    from llamapipe.cli.generate import generate_command

    app = typer.Typer()
    app.command("eval")(eval_command)
    app.command("generate")(generate_command)
    app.command("export")(export_command)
    app.command("import-hf")(import_command)
    return app


@pytest.mark.slow
def test_cli_commands_on_the_trained_run(trained_run: PipelineConfig, tmp_path: Path):
    from typer.testing import CliRunner

    cfg = trained_run
    copa = Path(cfg.eval.tasks[0].path)
    toml = tmp_path / "pipeline.toml"
    toml.write_text(
        f'[run]\ndir = "{cfg.run_dir}"\n\n[train]\nsize = "tiny"\n\n'
        f'[eval]\nperplexity_max_tokens = 500\n\n[[eval.tasks]]\nname = "copa"\n'
        f'path = "{copa}"\nlimit = 8\n'
    )
    app = _cli_app()
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "-c", str(toml)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "copa" in result.output and "perplexity" in result.output.lower()
    every = runner.invoke(app, ["eval", "-c", str(toml), "--all"], terminal_width=200)
    assert every.exit_code == 0, every.output
    assert "tiny-step_000060" in every.output

    args = ["generate", "-c", str(toml), "-p", "Alice was", "--max-tokens", "12", "--seed", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Alice was" in first.output
    assert runner.invoke(app, args).output == first.output

    out = tmp_path / "hf"
    exported = runner.invoke(app, ["export", "-c", str(toml), "--format", "hf", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert (out / "config.json").exists() and (out / "tokenizer.json").exists()
    imported = runner.invoke(app, ["import-hf", str(out), "-o", str(tmp_path / "ckpt")])
    assert imported.exit_code == 0, imported.output
    assert (tmp_path / "ckpt" / "model_args.json").exists()

    bad = runner.invoke(app, ["export", "-c", str(toml), "--format", "gguf"])
    assert bad.exit_code != 0
