"""Input references: which ones are remote, which scheme, which fsspec filesystem reads them.

A reference is a local path or `<scheme>://...`. Object stores are read through fsspec; their
filesystem packages are optional extras (`pip install llamapipe[s3]`, `[gcs]`, `[hf]`), so a
missing one is a one-line error naming the extra, not an ImportError.
"""

from __future__ import annotations

import os
import re
from typing import Any

from llamapipe.errors import StorageError

#: scheme -> (fsspec protocol, module that implements it, pip extra that installs it)
OBJECT_STORES: dict[str, tuple[str, str, str]] = {
    "s3": ("s3", "s3fs", "s3"),
    "gs": ("gcs", "gcsfs", "gcs"),
    "gcs": ("gcs", "gcsfs", "gcs"),
    "hf": ("hf", "huggingface_hub", "hf"),
}
HTTP_SCHEMES = ("http", "https")
SUPPORTED_SCHEMES = (*HTTP_SCHEMES, *OBJECT_STORES)

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/+")


def scheme_of(ref: str) -> str | None:
    """`s3` for `s3://b/k`; None for a local path (a Windows drive letter is not a scheme)."""
    match = _SCHEME_RE.match(str(ref))
    if match is None or len(match.group(1)) == 1:
        return None
    return match.group(1).lower()


def normalize(ref: str) -> str:
    """`s3:/b/k` (what `pathlib.Path("s3://b/k")` turns a URL into) back to `s3://b/k`."""
    ref = str(ref)
    scheme = scheme_of(ref)
    if scheme is None:
        return ref
    rest = ref[_SCHEME_RE.match(ref).end() :]  # type: ignore[union-attr]
    return f"{scheme}://{rest}"


def is_remote(ref: str) -> bool:
    """Whether `ref` names something read over the network (any `scheme://`)."""
    return scheme_of(str(ref)) is not None


def check_scheme(ref: str) -> str | None:
    """The scheme of `ref` (None when local); an unknown scheme is a StorageError."""
    scheme = scheme_of(ref)
    if scheme is not None and scheme not in SUPPORTED_SCHEMES:
        raise StorageError(
            f"{ref}: unknown scheme '{scheme}://' (supported: local paths, "
            + ", ".join(f"{s}://" for s in SUPPORTED_SCHEMES if s != "gcs")
            + ")"
        )
    return scheme


def ref_name(ref: str) -> str:
    """The last path component (a file name), for extension checks on any reference."""
    return normalize(ref).rstrip("/").rsplit("/", 1)[-1]


_fs_cache: dict[tuple[Any, ...], Any] = {}

#: Environment variables that configure a store; a change gives a new filesystem instance.
_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HF_TOKEN",
    "HF_ENDPOINT",
)


def filesystem_for(ref: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for an object-store reference.

    Credentials and endpoints come from the store's standard places (for S3: the AWS_*
    environment variables, ~/.aws/config and credentials, `AWS_ENDPOINT_URL` for MinIO-like
    stores), because the filesystem is created with no arguments of ours.
    """
    ref = normalize(ref)
    scheme = check_scheme(ref)
    if scheme not in OBJECT_STORES:
        raise StorageError(f"{ref}: not an object-store reference")
    protocol, module, extra = OBJECT_STORES[scheme]
    try:
        __import__(module)
    except ImportError:
        # hf:// needs only huggingface_hub (normally installed with `datasets`).
        how = (
            "pip install huggingface_hub" if scheme == "hf" else f"pip install 'llamapipe[{extra}]'"
        )
        raise StorageError(
            f"{ref}: reading {scheme}:// needs the '{module}' package: {how}"
        ) from None
    import fsspec

    key = (protocol, os.getpid(), tuple(os.environ.get(k) for k in _ENV_KEYS))
    fs = _fs_cache.get(key)
    if fs is None:
        # skip_instance_cache: fsspec's own cache ignores the environment (a test or a
        # long-lived worker that changes AWS_ENDPOINT_URL must get a new client).
        fs = fsspec.filesystem(protocol, skip_instance_cache=True)
        _fs_cache[key] = fs
    return fs, ref.split("://", 1)[1]


def join_remote(scheme: str, path: str) -> str:
    """fsspec returns paths without the scheme (`bucket/key`); put it back."""
    return f"{scheme}://{path.lstrip('/')}" if scheme != "hf" else f"hf://{path}"


def as_path(ref: str | os.PathLike[str]) -> Any:
    """A Path for a local reference, the normalized string for a remote one (pathlib would
    turn `s3://b/k` into `s3:/b/k`). Readers that keep `.path` for messages use this."""
    from pathlib import Path

    text = os.fspath(ref)
    return normalize(text) if is_remote(text) else Path(text)
