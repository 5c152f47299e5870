"""`llamapipe generate`: sample text from a checkpoint (temperature, top-p, seed, KV cache)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from llamapipe.cli.common import ConfigOption, SetOption, load_cli_config
from llamapipe.cli.eval import CheckpointOption, SizeOption
from llamapipe.errors import InputError, LlamapipeError


def generate_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    size: SizeOption = None,
    checkpoint: CheckpointOption = None,
    prompt: Annotated[
        list[str] | None,
        typer.Option("--prompt", "-p", help="Prompt (repeatable; default: eval.generate.prompts)."),
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Tokens to sample per prompt.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="0 = greedy decoding.")
    ] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="Nucleus mass kept.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed.")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Recompute the whole sequence each step.")
    ] = False,
) -> None:
    """Sample a continuation of each prompt from a checkpoint; same seed, same text.

    Example: llamapipe generate -c pipeline.toml -p "The capital of France is" --seed 1
    """
    from llamapipe.evaluation.encoder import SentencePieceEncoder
    from llamapipe.evaluation.generate import SamplingParams, generate_text
    from llamapipe.evaluation.runner import find_checkpoint, tokenizer_path
    from llamapipe.training.checkpoint import load_model_for_inference

    cfg = load_cli_config(config, overrides, check_inputs=False)
    defaults = cfg.eval.generate
    try:
        params = SamplingParams(
            temperature=defaults.temperature if temperature is None else temperature,
            top_p=defaults.top_p if top_p is None else top_p,
            max_new_tokens=defaults.max_new_tokens if max_new_tokens is None else max_new_tokens,
            seed=defaults.seed if seed is None else seed,
        )
        ckpt = find_checkpoint(cfg, size, checkpoint)
        model, args = load_model_for_inference(ckpt, device=cfg.eval.device)
        encoder = SentencePieceEncoder(tokenizer_path(cfg))
    except LlamapipeError:
        raise
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from exc
    out = Console()
    out.print(Text(str(ckpt), style="dim"))
    for text in prompt or defaults.prompts:
        sampled = generate_text(
            model, args, encoder, text, params, use_cache=not no_cache, device=cfg.eval.device
        )
        # Model output may contain "[...]": print it as plain Text, never as rich markup.
        out.print(Text.assemble((text, "bold"), sampled), highlight=False)
