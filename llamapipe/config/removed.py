"""Whether a source's stages write the documents they remove (`write_removed`).

One switch for every source (`[sources] write_removed = true`) and one per source
(`[sources.<name>] write_removed = true | false`), the source's own winning when set, so that a
user can inspect every source but the crawl, which removes most of what it reads.
"""

from __future__ import annotations

from typing import Any


def write_removed_for(cfg: Any, source_name: str) -> bool:
    """The effective `write_removed` of one source of a PipelineConfig."""
    section = getattr(cfg.sources, source_name)
    own = getattr(section, "write_removed", None)
    if own is not None:
        return bool(own)
    return bool(getattr(cfg.sources, "write_removed", False))
