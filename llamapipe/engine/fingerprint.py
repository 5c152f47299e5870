"""Fingerprints: what decides whether a finished shard is still valid.

A shard's fingerprint covers the stage config, the upstream stages' output digests, the shard's
own inputs (path, size and modification time of local files; the address of remote ones) and its
parameters. Size + mtime rather than content hashes because real inputs are many GB of WET
files; editing or replacing a file changes both.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

REMOTE_PREFIXES = ("http://", "https://", "s3://", "gs://", "hf://")


def digest(obj: Any) -> str:
    """A stable short digest of a JSON-able object (keys sorted)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def input_fingerprint(ref: str) -> dict[str, Any]:
    """Identity of one input: remote addresses as they are, local files by size and mtime."""
    if ref.startswith(REMOTE_PREFIXES):
        return {"ref": ref}
    path = Path(ref)
    if path.is_dir():
        entries = []
        for root, _dirs, files in os.walk(path):
            for name in sorted(files):
                full = Path(root) / name
                st = full.stat()
                entries.append([str(full.relative_to(path)), st.st_size, st.st_mtime_ns])
        entries.sort()
        return {"ref": ref, "tree": digest(entries)}
    try:
        st = path.stat()
    except FileNotFoundError:
        return {"ref": ref, "missing": True}
    return {"ref": ref, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def shard_fingerprint(
    config_digest: str,
    upstream_digests: dict[str, str],
    index: int,
    inputs: tuple[str, ...],
    params: dict[str, Any],
) -> str:
    return digest(
        {
            "config": config_digest,
            "upstream": upstream_digests,
            "index": index,
            "inputs": [input_fingerprint(ref) for ref in inputs],
            "params": params,
        }
    )
