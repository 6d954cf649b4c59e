"""How many cores a job uses, and how JAX's CPU runtime is told.

A Snakemake rule's ``threads`` reach the job as ``OMP_NUM_THREADS`` (Snakemake sets it, with the BLAS
variables, for every shell command). scikit-learn/joblib and BLAS follow it; JAX's CPU client does
not: it sizes its intra-op pool from the ``NPROC`` environment variable, else from every core the
process may use. ``pool_follows_job_threads`` passes the rule's threads on, so that two single-thread
jobs side by side on two cores do not each split their loops over both.

The pool size is read once, when JAX starts its CPU backend: both settings below must come before the
first JAX computation of the process (each says whether it came in time).
"""

from __future__ import annotations

import os
import sys


def job_threads() -> int:
    """The rule's threads (``OMP_NUM_THREADS``), else the CPUs this process may use."""
    return int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))


def _jax_backend_started() -> bool:
    if "jax" not in sys.modules:  # not imported yet: commands that never use JAX do not pay its import
        return False
    from jax._src import xla_bridge
    return xla_bridge.backends_are_initialized()


def _set_xla_pool(threads: int) -> bool:
    if _jax_backend_started():
        return False
    os.environ["NPROC"] = str(threads)
    return True


def pool_follows_job_threads() -> bool:
    """JAX's intra-op pool gets the job's threads (unless NPROC was set explicitly)."""
    if "NPROC" in os.environ:
        return False
    return _set_xla_pool(job_threads())


def run_xla_calls_on_caller_thread() -> bool:
    """Each XLA call runs on the Python thread that makes it, and only there: synchronous dispatch and
    an intra-op pool of one thread. For code that keeps the cores busy with its own Python threads.

    By default the CPU client runs calls asynchronously on its worker threads and splits large loops
    over its pool. A GNTK sweep is thousands of small calls; two Python threads issuing them on two
    cores then spent 60-80% more CPU than the same calls on one core (NCI1 block pairs: 23 ms of wall
    per pair with two threads, against 26 ms of CPU per pair on a core of its own). With this setting
    two threads do two pairs in 14 ms (the GIL is released while a call runs)."""
    import jax

    jax.config.update("jax_cpu_enable_async_dispatch", False)
    return _set_xla_pool(1)
