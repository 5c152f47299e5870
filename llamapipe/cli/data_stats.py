"""The table of `llamapipe data stats`: what each source contributed, next to Table 1."""

from __future__ import annotations

from rich.table import Table

from llamapipe.config import PipelineConfig
from llamapipe.engine.progress import human_bytes
from llamapipe.engine.state import read_json
from llamapipe.recipe import SOURCE_ORDER, TABLE1_EPOCHS, TABLE1_SHARES


def render_stats(cfg: PipelineConfig) -> Table:
    """Ingestion counts per source; the mix columns come from the tokens manifest when built."""
    tokens = read_json(cfg.run_dir / "tokens" / "manifest.json") or {}
    per_source = tokens.get("sources", {})
    table = Table(title=f"llamapipe data stats: {cfg.run_dir}")
    for col in ("source", "docs", "bytes", "unique tokens", "tokens in mix", "share %",
                "epochs", "paper share %", "paper epochs"):  # fmt: skip
        table.add_column(col, justify="left" if col == "source" else "right")
    for name in SOURCE_ORDER:
        stats = read_json(cfg.run_dir / "ingest" / name / "stats.json") or {}
        totals = stats.get("totals", {})
        mix = per_source.get(name, {})
        table.add_row(
            name,
            f"{totals.get('docs_out', 0):,}" if stats else "-",
            human_bytes(totals.get("bytes_out", 0)) if stats else "-",
            f"{mix['unique_tokens']:,}" if "unique_tokens" in mix else "-",
            f"{mix['tokens_in_mix']:,}" if "tokens_in_mix" in mix else "-",
            f"{mix['share'] * 100:.2f}" if "share" in mix else "-",
            f"{mix['epochs']:.2f}" if "epochs" in mix else "-",
            f"{TABLE1_SHARES[name]:.1f}",
            f"{TABLE1_EPOCHS[name]:.2f}",
        )
    return table
