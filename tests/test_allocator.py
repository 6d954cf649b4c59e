"""The allocator setting of the GNTK rules: XLA's freed output buffers stay in the heap instead of
being faulted in again by the next operation."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Page faults of one GNTK sweep over 60 random path graphs (five blocks of nodes, two threads).
SWEEP_FAULTS = """
import resource, sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from ntk_study.kernels.allocator import keep_freed_memory
from ntk_study.kernels.graph_blocks import gntk_grams
if sys.argv[1] == "keep":
    assert keep_freed_memory()
rng = np.random.default_rng(0)
sizes = rng.integers(10, 40, size=60)
features = [np.eye(3)[rng.integers(0, 3, size=n)] for n in sizes]
edges = [np.stack([np.arange(n - 1), np.arange(1, n)], axis=1) for n in sizes]
gntk_grams(features, edges, "uniform", [4], 1, threads=2)  # compilation
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
gntk_grams(features, edges, "uniform", [4], 1, threads=2)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", SWEEP_FAULTS, mode], capture_output=True, text=True, check=True)
    return int(run.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_xla_buffers_are_reused_without_page_faults():
    default, kept = _faults("default"), _faults("keep")
    assert default > 5000  # measured 15,000-27,000: each 1 MB output buffer is mapped and faulted in afresh
    # Measured ~40 on an idle machine; where the kernel's DAMON "pageout" scheme runs (these machines),
    # idle kept pages are paged out and faulted back: 117-1,442 measured, against 15,000-27,000 without
    # the setting. Without the setting the two counts are alike, so this still fails.
    assert kept < default / 8
