"""The base of every config section: unknown keys are errors, never silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section. A typo in pipeline.toml must fail loudly, so extra keys are forbidden."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
