"""job_threads: the rule's threads reach JAX's CPU pool, and GNTK's calls run on their caller's thread."""

from __future__ import annotations

import os
import subprocess
import sys
from unittest import mock

from ntk_study import job_threads

_NPROC_AT_IMPORT = os.environ.get("NPROC")

# A fresh interpreter per case: the CPU backend reads its pool size once, when it starts.
_PROBE = """
import time, jax, jax.numpy as jnp
from ntk_study.job_threads import run_xla_calls_on_caller_thread
took_effect = run_xla_calls_on_caller_thread() if {configure} else None
work = jax.jit(lambda x: jnp.sin(x) * jnp.cos(x) + jnp.sqrt(x))
x = jnp.linspace(0.0, 1.0, 2_000_000)
work(x).block_until_ready()
thread, process = time.thread_time(), time.process_time()
for _ in range(15):
    work(x).block_until_ready()
print(took_effect, (time.thread_time() - thread) / (time.process_time() - process))
print(run_xla_calls_on_caller_thread())  # the backend is running now: too late for the pool size
"""


def _caller_share(configure: bool) -> tuple[str, float, str]:
    """(took effect, the calling thread's share of the process CPU time over the calls, late call)."""
    out = subprocess.run([sys.executable, "-c", _PROBE.format(configure=configure)], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    took_effect, share = out[0].split()
    return took_effect, float(share), out[1]


def test_calls_run_on_the_callers_thread_once_configured():
    took_effect, share, late = _caller_share(configure=True)
    assert took_effect == "True"
    assert share > 0.85, f"the calling thread did only {share:.0%} of the work"
    assert late == "False"


def test_by_default_calls_run_on_jaxs_own_threads():
    """The control: without the setting the work happens elsewhere, so the check above can fail."""
    _, share, _ = _caller_share(configure=False)
    assert share < 0.5


def test_the_rules_threads_size_jaxs_pool_unless_nproc_is_set(monkeypatch):
    monkeypatch.setattr(job_threads, "_jax_backend_started", lambda: False)
    # The code under test writes os.environ itself, which monkeypatch does not track: patch.dict
    # restores the whole environment afterwards, so no NPROC leaks into later Snakemake runs of the
    # session (it once did, and changed their float results in the last digits).
    with mock.patch.dict(os.environ):
        os.environ.pop("NPROC", None)
        os.environ["OMP_NUM_THREADS"] = "3"
        assert job_threads.job_threads() == 3
        assert job_threads.pool_follows_job_threads()
        assert os.environ["NPROC"] == "3"
        os.environ["NPROC"] = "5"
        assert not job_threads.pool_follows_job_threads()
        assert os.environ["NPROC"] == "5"


def test_setting_the_pool_size_in_a_test_leaves_the_environment_as_it_was():
    """Guards the fix above: the previous test must not leave NPROC behind for later tests."""
    assert os.environ.get("NPROC") == _NPROC_AT_IMPORT
