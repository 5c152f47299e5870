"""Evaluation of checkpoints (paper section 3): held-out perplexity per source, zero/few-shot
multiple choice, and text generation.

Entry points: ``run_eval(cfg, size=..., checkpoint=..., force=...) -> dict`` (results.json),
``evaluate_model(model, args, encoder, eval_cfg, ...)`` for an in-memory model,
``generate_text``/``generate_tokens`` for sampling, ``plot_loss_curve`` for the report.
Submodules are imported lazily by callers; this package imports nothing heavy itself.
"""
