"""`llamapipe status`: where each stage of the run stands."""

from __future__ import annotations

from rich.table import Table

from llamapipe.cli.common import ConfigOption, SetOption, load_cli_config, out_console
from llamapipe.engine import stage_status
from llamapipe.pipeline import all_stages

STATE_STYLE = {"complete": "green", "partial": "yellow", "stale": "red", "missing": "dim"}


def status_command(
    config: ConfigOption = "pipeline.toml",  # type: ignore[assignment]
    overrides: SetOption = None,
) -> None:
    """Show each stage: complete, partial (k of n shards), stale (and why) or missing.

    Example: llamapipe status -c pipeline.toml
    """
    cfg = load_cli_config(config, overrides, check_inputs=False)
    table = Table(title=f"llamapipe status: {cfg.run_dir}")
    for col in ("stage", "state", "shards", "path", "note"):
        table.add_column(col)
    for spec in all_stages(cfg):
        st = stage_status(spec, cfg.run_dir)
        style = STATE_STYLE[st.state]
        shards = f"{st.done}/{st.total}" if st.total else "-"
        table.add_row(spec.name, f"[{style}]{st.state}[/]", shards, str(st.path), st.reason)
    out_console.print(table)
