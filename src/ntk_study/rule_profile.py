"""Where a rule's time goes: start-up and imports, XLA compilation, SVM fits, and the rest.

Set ``NTK_STUDY_PROFILE=<file.json>`` for one command of the study (``python -m ntk_study ...``)
and it writes, beside its normal outputs, a JSON breakdown of its wall time:

- ``startup_s``: interpreter start to the command's first line (imports of the CLI), plus every
  import made while the command ran;
- ``xla_compile_s``: JAX tracing, lowering and XLA compilation (JAX's own monitoring events);
- ``svm_s``: scikit-learn SVC fits and predictions (libsvm);
- ``compute_s``: the rest: array computation, training loops, file I/O.

The categories come from a cProfile of the command (its cumulative times; imports and compilation
nested inside an SVM call are not counted twice). cProfile slows Python-heavy loops down, so read the
shares, not the absolute seconds.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENVIRONMENT_VARIABLE = "NTK_STUDY_PROFILE"
_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")
_SVM_CALLS = {("sklearn/svm/_base.py", "fit"), ("sklearn/svm/_base.py", "predict"),
              ("sklearn/svm/_base.py", "decision_function")}


def _process_age_s() -> float:
    """Seconds since this process started (Linux: /proc/self/stat field 22, in clock ticks)."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


def _cumulative(stats: pstats.Stats, wanted: Callable[[str, str], bool]) -> float:
    total = 0.0
    for (filename, _, name), (_, _, _, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        # Count a call only where its caller is not itself a wanted call (outermost calls only).
        if wanted(filename, name) and not any(wanted(c[0], c[2]) for c in callers):
            total += cumulative
    return total


def run_profiled(command: Callable[[], Any], output: Path) -> None:
    """Runs ``command`` under cProfile and writes the breakdown to ``output``."""
    import jax.monitoring

    startup = _process_age_s()
    compile_s: dict[str, float] = defaultdict(float)

    def listen(event: str, seconds: float, **_: Any) -> None:
        if event in _COMPILE_EVENTS:
            compile_s[event] += seconds

    jax.monitoring.register_event_duration_secs_listener(listen)
    profile = cProfile.Profile()
    began, began_cpu = time.perf_counter(), time.process_time()
    profile.enable()
    try:
        command()
    finally:
        profile.disable()
        wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        stats = pstats.Stats(profile)
        imports = _cumulative(stats, lambda f, n: n == "_find_and_load")
        svm = _cumulative(stats, lambda f, n: any(f.endswith(path) and n == name for path, name in _SVM_CALLS))
        xla = sum(compile_s.values())
        breakdown = {"wall_s": round(startup + wall, 2), "cpu_s_after_startup": round(cpu, 2),
                     "startup_s": round(startup + imports, 2), "xla_compile_s": round(xla, 2),
                     "svm_s": round(svm, 2), "compute_s": round(max(wall - imports - xla - svm, 0.0), 2)}
        Path(output).write_text(json.dumps(breakdown, indent=1) + "\n")
