"""Input lists of pipeline.toml -> the files a source reads, in a stable order.

Shard i reads input i, and "first occurrence wins" in dedup depends on input order, so globs
are sorted and every file appears once, in the order the config names it.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from pathlib import Path


def expand_globs(refs: list[str]) -> Iterator[str]:
    """Each ref as is, or its sorted matches when it is a glob (`**` recurses)."""
    for ref in refs:
        yield from (sorted(glob.glob(ref, recursive=True)) if glob.has_magic(ref) else [ref])


def expand_inputs(
    refs: list[str], *, in_folders: Callable[[Path], bool] | None = None
) -> list[str]:
    """Globs expanded; a folder is itself an input (a repository, say) unless `in_folders` is
    given, then it contributes its files (recursively, sorted) for which `in_folders` is true."""
    found: dict[str, None] = {}
    for match in expand_globs(refs):
        path = Path(match)
        if in_folders is not None and path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and in_folders(child):
                    found.setdefault(str(child), None)
        else:
            found.setdefault(str(path), None)
    return list(found)
