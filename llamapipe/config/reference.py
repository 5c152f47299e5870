"""The config reference of the README, generated from the config models themselves.

A hand-written reference goes stale the day someone adds a key; this one is derived from the
pydantic models (types, defaults, `Field(description=...)` and the `#:` comments above fields),
and a test checks that the README holds exactly what this module prints.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from llamapipe.config import PipelineConfig

#: Keys every source has, documented once here rather than in each source's model.
COMMON_DOCS = {
    "enabled": "Process this source (a source with no inputs is skipped as well).",
}
_COMMENT_FIELD = re.compile(r"^\s*#:\s?(.*)$")
_FIELD_LINE = re.compile(r"^\s*(\w+)\s*:")


def _field_comments(model: type[BaseModel]) -> dict[str, str]:
    """`#:` comment lines directly above each field of the class body and of its bases (a
    model made by `create_model`, like SourcesConfig, has no source of its own)."""
    comments: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and cls is not BaseModel:
            comments.update(_class_field_comments(cls))
    return comments


def _class_field_comments(model: type[BaseModel]) -> dict[str, str]:
    try:
        lines = inspect.getsource(model).splitlines()
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        match = _COMMENT_FIELD.match(line)
        if match:
            pending.append(match.group(1).strip())
            continue
        field = _FIELD_LINE.match(line)
        if field and pending:
            comments[field.group(1)] = " ".join(pending)
        if line.strip():
            pending = []
    return comments


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "None")
    args = ", ".join(_type_name(a) for a in get_args(annotation))
    name = getattr(origin, "__name__", str(origin))
    if name in ("Union", "UnionType"):
        return " | ".join(_type_name(a) for a in get_args(annotation))
    return f"{name}[{args}]"


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
        if name == "workers":
            return "number of CPUs"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    comments = _field_comments(model)
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        key = f"{prefix}{name}"
        annotation = field.annotation
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, f"{key}."))
            continue
        doc = field.description or comments.get(name, "") or COMMON_DOCS.get(name, "")
        rows.append((key, _type_name(annotation), _default(model, name), doc))
    return rows


def reference_markdown() -> str:
    """A markdown table of every key of pipeline.toml."""
    out = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, type_name, default, doc in _rows(PipelineConfig, ""):
        cells = [f"`{key}`", type_name, f"`{default}`" if default else "", doc]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


START = (
    "<!-- config-reference:start "
    "(generated: python -m llamapipe.config.reference --write README.md) -->"
)
END = "<!-- config-reference:end -->"


def replace_in(text: str) -> str:
    """`text` with the block between START and END replaced by the current reference."""
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise ValueError("no config-reference markers found")
    return f"{head}{START}\n{reference_markdown()}{END}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        target = Path(sys.argv[2])
        target.write_text(replace_in(target.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(reference_markdown(), end="")
