"""Every path-typed key of pipeline.toml, resolved once, when the config is loaded.

A relative path in pipeline.toml (or in a `--set` override) means "relative to the folder of
pipeline.toml", whatever the current directory and whichever command loads the config: data
build, status, train and eval must all see the same absolute paths, or stage fingerprints
(which record input paths) would differ between commands and a finished stage would look
stale. URLs (`scheme://...`) and Hugging Face dataset ids (`hf:...`) are left as they are.

PATH_KEYS is the one list of those keys; tests/engine/test_paths.py fails when a config
section gains a path-like key that is missing here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llamapipe.io.refs import scheme_of

#: Dotted keys; "*" stands for every sub-section (sources.*) or every list item (eval.tasks).
PATH_KEYS: tuple[str, ...] = (
    "run.dir",
    "executor.slurm.folder",
    "sources.*.inputs",
    "sources.c4.wet_rules.badwords_path",
    "sources.c4.wet_rules.lid_model",
    "sources.c4.wet_rules.cache_dir",
    "sources.commoncrawl.lid_model",
    "sources.commoncrawl.cache_dir",
    "sources.commoncrawl.lm.models_dir",
    "sources.stackexchange.work_dir",
    "train.tokens_dir",
    "train.init_from",
    "eval.tasks.*.path",
    "eval.export.out_dir",
)


def is_remote(ref: str) -> bool:
    """A URL (s3://, https://, gs://, hf://, ...) or a `hf:<dataset>` id: not a local path."""
    return scheme_of(ref) is not None or ref.startswith("hf:")


def resolve_path(ref: str, base_dir: str | Path) -> str:
    """`ref` made absolute against base_dir (after `~` expansion); URLs and "" unchanged."""
    if not ref or is_remote(ref):
        return ref
    path = os.path.expanduser(ref)
    if not os.path.isabs(path):
        path = os.path.join(str(base_dir), path)
    return os.path.normpath(path)


def _holders(node: Any, parts: list[str]) -> Iterator[tuple[Any, str]]:
    """(object, attribute) pairs that a dotted key with wildcards designates under node."""
    if len(parts) == 1:
        if isinstance(node, BaseModel) and parts[0] in type(node).model_fields:
            yield node, parts[0]
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            children = node
        elif isinstance(node, BaseModel):
            children = [getattr(node, name) for name in type(node).model_fields]
        else:
            children = []
        for child in children:
            yield from _holders(child, rest)
    elif isinstance(node, BaseModel) and head in type(node).model_fields:
        yield from _holders(getattr(node, head), rest)


def resolve_config_paths(cfg: BaseModel, base_dir: str | Path) -> None:
    """Rewrite, in place, every PATH_KEYS value of cfg as an absolute path (see module doc)."""
    for key in PATH_KEYS:
        for holder, name in _holders(cfg, key.split(".")):
            value = getattr(holder, name)
            if isinstance(value, str):
                setattr(holder, name, resolve_path(value, base_dir))
            elif isinstance(value, list):
                setattr(holder, name, [resolve_path(v, base_dir) for v in value])
