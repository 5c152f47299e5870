"""A remote input that a format must seek in freely (7z archives) as a local temporary file.

The copy is verified like a cached one (declared length, digest when given), lives in a folder
the caller chooses (the shard's own temp folder in the run dir, never $TMPDIR) and is deleted
when the `with` block ends, whatever happens inside it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from llamapipe.io.cache import download_verified
from llamapipe.io.refs import check_scheme, normalize, ref_name
from llamapipe.io.retry import RetryPolicy


@contextlib.contextmanager
def local_copy(
    ref: str | Path, folder: str | Path, policy: RetryPolicy | None = None
) -> Iterator[Path]:
    """Yield a local path holding `ref`'s bytes: `ref` itself when it is local."""
    ref = normalize(str(ref))
    if check_scheme(ref) is None:
        yield Path(ref)
        return
    policy = policy or RetryPolicy.from_env()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex[:8]}-{ref_name(ref)}"
    try:
        download_verified(ref, target, policy)
        yield target
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
