"""Typed stage configs: what a stage reads, frozen, and the one dict form its fingerprint uses.

A stage's config is a frozen dataclass (subclass `StageConfig`) listing exactly the keys its
shards read, so that an edit to any other key cannot make it stale. Its fingerprint and
manifest use `config_dict`, the JSON form of its fields: a dataclass with the same fields and
values as an older plain-dict config has the same digest, so run dirs stay valid.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class StageConfig:
    """Base class of typed stage configs (a frozen dataclass; nested ones allowed)."""

    def to_dict(self) -> dict[str, Any]:
        return config_dict(self)


def config_dict(config: Any) -> dict[str, Any]:
    """The JSON-able dict of a stage config: a plain dict as is, a dataclass or a pydantic model
    field by field (tuples become lists, as JSON writes them)."""
    if isinstance(config, dict):
        return config
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return _jsonable(dataclasses.asdict(config))
    dump = getattr(config, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"a stage config must be a dict or a dataclass, not {type(config).__name__}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
