"""Shared fixtures: where the real public data samples live, and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _realdata_root() -> Path:
    env = os.environ.get("LLAMAPIPE_REALDATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Root of the real public samples (../shared/realdata or $LLAMAPIPE_REALDATA).

    Tests that need it skip, saying why, in a clone that does not have it.
    """
    root = _realdata_root()
    if not (root / "SOURCES.md").exists():
        pytest.skip(f"real data samples not found at {root} (set LLAMAPIPE_REALDATA)")
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
