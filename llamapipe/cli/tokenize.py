"""`llamapipe tokenize`: train the tokenizer, encode every source, blend to the Table 1 mix."""

from __future__ import annotations

from llamapipe.cli.common import (
    ConfigOption,
    ExecutorOption,
    ForceOption,
    SetOption,
    StrictOption,
    WaitOption,
    WorkersOption,
    console,
    load_cli_config,
    run_dir_lock,
)
from llamapipe.engine import run_stages
from llamapipe.tokenizer.stages import build_stages


def tokenize_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
    force: ForceOption = False,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    strict: StrictOption = None,
    wait: WaitOption = False,
) -> None:
    """Train the SentencePiece tokenizer on a sample of the mix, encode every source into token
    shards (held-out documents split off first), and blend them to the [mix] shares.

    Writes <run>/tokenizer/tokenizer.model, <run>/tokens/train/NNNNN.{bin,idx} (Megatron
    indexed dataset), <run>/tokens/valid/<source>/ and <run>/tokens/manifest.json. Complete
    stages are skipped; a killed run resumes from its finished shards.

    Example: llamapipe tokenize -c pipeline.toml --set tokenizer.vocab_size=8000 --workers 2
    """
    cfg = load_cli_config(config, overrides, executor=executor, workers=workers, strict=strict)
    with run_dir_lock(cfg, wait):
        stages = build_stages(cfg)
        run_stages(stages, cfg.run_dir, force=force, console=console, **cfg.executor_kwargs())
    manifest = cfg.run_dir / "tokens" / "manifest.json"
    console.print(f"tokens manifest: {manifest} (see `llamapipe data stats`)")
