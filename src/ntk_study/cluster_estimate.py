"""Paper-scale cost of each compute rule, extrapolated from measured runtimes.

For every regenerated figure, the analysis module states how the compute rule's work scales with
its settings (``work(settings)``: a flop-count model). The paper-scale runtime on this machine is
the measured computation time (``compute_timing.json``, without interpreter start and imports)
times work(paper) / work(this run); the GPU-hours divide that by an assumed speed-up of one GPU
over the measured CPU run, stated below. Fixed costs (JIT compilation) are scaled too, so an
estimate from a tiny run overstates; the book's estimate comes from the quick build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.figures import REGISTRY, TIMING_FILE
from ntk_study.provenance import read_benchmark

# One data-centre GPU against the 2 CPU cores the quick runs are measured on, for the dense
# float64 matrix work these rules do. An assumption, not a measurement.
ASSUMED_GPU_SPEEDUP = 20.0


def estimate(config: dict[str, Any], paper: dict[str, Any], benchmarks_dir: Path, results_dir: Path) -> pd.DataFrame:
    rows = []
    for job in REGISTRY.values():
        measured = read_benchmark(benchmarks_dir / job.id / "compute.tsv")
        timing = json.loads((results_dir / job.id / TIMING_FILE).read_text())
        model = job.analysis()
        ratio = model.work(paper["figures"][job.id]) / model.work(config["figures"][job.id])
        cpu_hours = (timing["compute_s"] * ratio + timing["startup_s"]) / 3600
        requests = paper["resources"]["accelerated" if job.accelerated else "compute"]
        rows.append({
            "rule": f"{job.rule_prefix}_compute",
            "measured_scale": config["scale"],
            "measured_runtime_s": measured["runtime_s"],
            "measured_compute_s": timing["compute_s"],
            "measured_max_rss_mb": measured["max_rss_mb"],
            "scaling": " ".join(model.work.__doc__.split()),
            "work_ratio_paper_to_measured": round(ratio, 1),
            "paper_runtime_this_cpu_h": round(cpu_hours, 2),
            "paper_gpu_hours": round(cpu_hours / ASSUMED_GPU_SPEEDUP, 2) if requests.get("gpu") else 0.0,
            "paper_request": f"{requests['threads']} CPUs, {requests['mem_mb']} MB, {requests['runtime']} min"
                             + (f", {requests['gpu']} GPU" if requests.get("gpu") else ""),
        })
    return pd.DataFrame(rows)
