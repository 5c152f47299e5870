"""Input lists of pipeline.toml -> the files a source reads (kept for its importers).

The listing itself, for local paths and every remote store, lives in llamapipe.io.listing.
"""

from __future__ import annotations

from llamapipe.io.listing import expand_globs, expand_inputs

__all__ = ["expand_globs", "expand_inputs"]
