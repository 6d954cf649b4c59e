"""Shared fixtures: the offline data mirror and small synthetic archives in the real formats."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from checkout import SNAKEMAKE, copy_checkout

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("NTK_STUDY_MIRROR", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror of the real datasets (../shared/data, or $NTK_STUDY_MIRROR)."""
    if not (MIRROR / "mnist" / "SHA256SUMS").exists():
        pytest.skip(f"no data mirror at {MIRROR}: set NTK_STUDY_MIRROR to a mirror directory")
    return MIRROR


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, "--cores", "2", *args], cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})


@pytest.fixture(scope="session")
def study(tmp_path_factory, mirror):
    """The whole test config run through Snakemake in a copy of the checkout, once per session
    (shared by test_workflow.py and test_browser.py)."""
    workdir = copy_checkout(tmp_path_factory.mktemp("study"))
    run = snakemake(workdir, "--configfile", "config/test.yaml", "--config", f"data_mirror={mirror}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return workdir
