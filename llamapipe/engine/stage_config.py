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

    @classmethod
    def from_section(cls, section: Any, **values: Any) -> Any:
        """This config from the same-named fields of a pydantic config section (lists become
        tuples, so the config stays hashable and frozen); ``values`` add or replace fields.
        Values are copied as the section holds them (an int default of a float field stays an
        int), so the dict form equals the section's ``model_dump()`` of those keys."""
        for f in dataclasses.fields(cls):
            if f.name not in values and f.name in type(section).model_fields:
                values[f.name] = _frozen(getattr(section, f.name))
        return cls(**values)


def config_dict(config: Any) -> dict[str, Any]:
    """The JSON-able dict of a stage config: a plain dict as is, a dataclass or a pydantic model
    field by field (tuples become lists, as JSON writes them)."""
    if isinstance(config, dict):
        return config
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {
            f.name: _jsonable(config_dict(value) if _is_config(value) else value)
            for f in dataclasses.fields(config)
            if not _omitted(f, value := getattr(config, f.name))
        }
    dump = getattr(config, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"a stage config must be a dict or a dataclass, not {type(config).__name__}")


def added_key(default: Any = False) -> Any:
    """A field added after run dirs existed: left out of `config_dict` while it holds its
    default, so adding it does not make every existing stage stale (e.g. `write_removed`)."""
    return dataclasses.field(default=default, metadata={OMIT_IF_DEFAULT: True})


OMIT_IF_DEFAULT = "llamapipe_omit_if_default"


def _omitted(f: dataclasses.Field, value: Any) -> bool:
    return bool(f.metadata.get(OMIT_IF_DEFAULT)) and value == f.default


def _is_config(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
