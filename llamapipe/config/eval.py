"""Config section (minimal section written by the lead; the area's owner extends it)."""

from __future__ import annotations

from llamapipe.config.base import StrictModel


class EvalConfig(StrictModel):
    pass
