"""Disk-full failures as one line naming the path.

ENOSPC, a quota (EDQUOT) and the file-size limit (EFBIG) all mean the same to a user: free
space, then re-run; the re-run rebuilds what was short because nothing short is marked done.
"""

from __future__ import annotations

import errno
from pathlib import Path

from llamapipe.errors import DiskFullError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT/EFBIG, also when a C++ library (pyarrow) reports it only in its text."""
    if not isinstance(exc, OSError):
        return False
    if exc.errno in DISK_FULL_ERRNOS:
        return True
    text = str(exc)
    return any(s in text for s in ("No space left", "Disk quota", "File too large", "errno 28"))


def disk_full_error(path: str | Path, exc: OSError) -> DiskFullError:
    what = {
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EFBIG: "file too large (file size limit)",
    }.get(exc.errno or 0, f"no space left on device ({exc})")
    where = exc.filename or path
    return DiskFullError(
        f"{where}: {what} while writing; free space and re-run (what was cut short is rebuilt)"
    )
