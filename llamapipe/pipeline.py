"""The whole pipeline's stages in order, for `status`, `data build` and `run`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llamapipe.sources import source_stages

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig
    from llamapipe.engine import StageSpec


def data_stages(cfg: PipelineConfig, sources: list[str] | None = None) -> list[StageSpec]:
    """Ingestion of every enabled source (CCNet sub-stages included), in build order."""
    return source_stages(cfg, sources)


def token_stages(cfg: PipelineConfig) -> list[StageSpec]:
    """Held-out split, tokenizer training, per-source encoding and the Table 1 blend."""
    from llamapipe.tokenizer.stages import build_stages

    return build_stages(cfg)


def all_stages(cfg: PipelineConfig) -> list[StageSpec]:
    """Every engine stage of the run, in the order they must run."""
    return data_stages(cfg) + token_stages(cfg)
