"""Errors a user can meet, each printed as one line by the CLI with its own exit code."""

from __future__ import annotations


class LlamapipeError(Exception):
    """Base of the errors the CLI reports as one line instead of a traceback."""

    exit_code = 1


class ConfigError(LlamapipeError):
    """pipeline.toml or a --set override is wrong: an unknown key, a wrong type, a missing path."""

    exit_code = 2


class InputError(LlamapipeError):
    """An input file is unreadable or corrupt (raised for a record only in strict mode)."""

    exit_code = 1


class StageError(LlamapipeError):
    """A stage cannot run (stale, upstream missing) or some of its shards failed."""

    exit_code = 1


class StorageError(LlamapipeError):
    """An input cannot be read: unknown scheme, missing object, missing filesystem extra, or a
    remote read that still fails after every retry."""

    exit_code = 1


class IntegrityError(StorageError):
    """A download or stream ended short of its declared length or its digest did not match."""


class DiskFullError(LlamapipeError):
    """A write failed for lack of space (ENOSPC, quota, file size limit); names the path."""

    exit_code = 1
