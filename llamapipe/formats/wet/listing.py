"""WET inputs: files, globs, `wet.paths(.gz)` lists and remote objects -> an ordered file list.

Order matters downstream: "first occurrence wins" in dedup, so globs are sorted and lists keep
their order.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from llamapipe.io import RetryPolicy, is_remote, normalize, open_input
from llamapipe.io import expand_inputs as io_expand_inputs

#: Where relative paths of a `wet.paths.gz` list are fetched from.
CC_DATA_ROOT = "https://data.commoncrawl.org/"


def is_url(spec: str) -> bool:
    """Whether `spec` is remote (any scheme llamapipe.io reads: http(s), s3, gs, hf)."""
    return is_remote(str(spec))


def _paths_list_base(spec: str) -> str:
    """Where relative entries of a remote list resolve: the same bucket for an object store
    (Common Crawl's `s3://commoncrawl/` mirrors data.commoncrawl.org), else CC_DATA_ROOT."""
    scheme, rest = normalize(spec).split("://", 1)
    if scheme in ("http", "https"):
        return CC_DATA_ROOT
    return f"{scheme}://{rest.split('/', 1)[0]}/"


def _read_paths_list(spec: str, retries: int) -> list[str]:
    """Lines of a `wet.paths(.gz)` list; relative entries are resolved against CC_DATA_ROOT
    (or against the list's own folder when that folder holds them locally)."""
    policy = RetryPolicy.from_env(retries)
    with open_input(spec, decompress_by_name=True, policy=policy) as raw:
        text = raw.read().decode("utf-8")
    entries = [line.strip() for line in text.splitlines() if line.strip()]
    base_dir = Path(spec).parent if not is_url(spec) else None
    root = _paths_list_base(spec) if is_url(spec) else CC_DATA_ROOT
    resolved = []
    for entry in entries:
        if is_url(entry) or os.path.isabs(entry):
            resolved.append(entry)
        elif base_dir is not None and (base_dir / entry).exists():
            resolved.append(str(base_dir / entry))
        else:
            resolved.append(root + entry.lstrip("/"))
    return resolved


def expand_inputs(
    specs: Iterable[str], cache_dir: Path | None = None, retries: int = 5
) -> list[str]:
    """Expand user inputs into an ordered list of WET files or URLs.

    Accepts local files, globs, `*.paths` / `*.paths.gz` lists (local or remote), http(s)
    URLs and s3/gs/hf objects or globs. Order is kept (and globs sorted) because "first
    occurrence wins" in dedup depends on it. `cache_dir` is accepted for callers that pass
    their download settings along; listing itself never caches.
    """
    out: list[str] = []
    for spec in specs:
        name = spec.rsplit("/", 1)[-1]
        if name.endswith((".paths", ".paths.gz")):
            out.extend(_read_paths_list(spec, retries))
        elif is_url(spec):
            out.extend(io_expand_inputs([spec]))
        elif any(ch in spec for ch in "*?["):
            matches = sorted(glob.glob(spec))
            if not matches:
                raise FileNotFoundError(f"WET input glob matches no file: {spec}")
            out.extend(matches)
        else:
            if not Path(spec).exists():
                raise FileNotFoundError(f"WET input not found: {spec}")
            out.append(spec)
    return out


def segment_name(spec: str) -> str:
    """CCNet's `cc_segment`: the path from `crawl-data/` on when present, else the file name."""
    marker = spec.find("crawl-data/")
    if marker >= 0:
        return spec[marker:]
    return spec.rsplit("/", 1)[-1]
