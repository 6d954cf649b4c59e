"""Shared fixtures: the offline data mirror and small synthetic archives in the real formats."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("NTK_STUDY_MIRROR", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror of the real datasets (../shared/data, or $NTK_STUDY_MIRROR)."""
    if not (MIRROR / "mnist" / "SHA256SUMS").exists():
        pytest.skip(f"no data mirror at {MIRROR}: set NTK_STUDY_MIRROR to a mirror directory")
    return MIRROR
