"""Config of this source (minimal section written by the lead; the source's owner extends it)."""

from __future__ import annotations

from llamapipe.config.base import StrictModel


class StackExchangeSourceConfig(StrictModel):
    enabled: bool = True
    inputs: list[str] = []
