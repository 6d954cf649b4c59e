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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.figures import KERNEL_TIMING_FILE, REGISTRY, TIMING_FILE, FigureJob
from ntk_study.provenance import read_benchmark

# One data-centre GPU against the 2 CPU cores the quick runs are measured on, for the dense
# float64 matrix work these rules do. An assumption, not a measurement.
ASSUMED_GPU_SPEEDUP = 20.0


@dataclass(frozen=True)
class Stage:
    """A heavy rule at paper scale, estimated from a rule measured in this run."""

    rule: str  # the paper-scale rule (name suffix)
    measured: str  # the measured rule's stage: its benchmark and timing files
    timing_file: str
    paper_work: Callable[[dict[str, Any]], float]  # work model of the paper-scale rule
    measured_work: Callable[[dict[str, Any]], float]  # work model of the measured rule
    resources: str  # the config's resources entry the paper-scale rule asks for


def _stages(job: FigureJob) -> list[Stage]:
    """The heavy rules of a figure. tab-cntk's full-CIFAR GPU rules run at paper scale only, so they
    are extrapolated from the measured kernels (shards) and compute (CNN training) rules. Its
    CPU solve is not listed: no quick-scale rule does dense solves at a size that predicts it
    (the README states its measured LAPACK cost instead)."""
    if job.data_from:  # no compute of its own: its runs are counted with the figure it reads
        return []
    model = job.analysis()
    requests = "accelerated" if job.accelerated else "compute"
    stages = [Stage("compute", "compute", TIMING_FILE, model.work, model.work, requests)]
    if job.kernel_files:
        stages.insert(0, Stage("kernels", "kernels", KERNEL_TIMING_FILE, model.kernel_work, model.kernel_work,
                               requests))
    if job.full_setting:
        stages += [
            Stage("full_kernels (all shards)", "kernels", KERNEL_TIMING_FILE, model.full_kernel_work,
                  model.kernel_work, "accelerated"),
            Stage("full_cnn (all depths)", "compute", TIMING_FILE, model.full_cnn_work, model.work, "accelerated"),
        ]
    return stages


def work_settings(job: FigureJob, config: dict[str, Any]) -> dict[str, Any]:
    """The settings a work model reads: the figure's config section, with the section of the figure
    whose results its compute reads (``inputs_from``) under "inputs"."""
    settings = config["figures"][job.id]
    return {**settings, "inputs": config["figures"][job.inputs_from]} if job.inputs_from else settings


def estimate(config: dict[str, Any], paper: dict[str, Any], benchmarks_dir: Path, results_dir: Path) -> pd.DataFrame:
    rows = []
    for job in REGISTRY.values():
        for stage in _stages(job):
            if stage.paper_work(work_settings(job, paper)) > 0:
                rows.append(_estimate_rule(job, stage, config, paper, benchmarks_dir, results_dir))
    return pd.DataFrame(rows)


def _estimate_rule(job: FigureJob, stage: Stage, config: dict[str, Any], paper: dict[str, Any],
                   benchmarks_dir: Path, results_dir: Path) -> dict[str, Any]:
    measured = read_benchmark(benchmarks_dir / job.id / f"{stage.measured}.tsv")
    timing = json.loads((results_dir / job.id / stage.timing_file).read_text())
    ratio = stage.paper_work(work_settings(job, paper)) / stage.measured_work(work_settings(job, config))
    cpu_hours = (timing["compute_s"] * ratio + timing["startup_s"]) / 3600
    requests = paper["resources"][stage.resources]
    return {
        "rule": f"{job.rule_prefix}_{stage.rule}",
        "measured_scale": config["scale"],
        "measured_runtime_s": measured["runtime_s"],
        "measured_compute_s": timing["compute_s"],
        "measured_max_rss_mb": measured["max_rss_mb"],
        "scaling": " ".join(stage.paper_work.__doc__.split()),
        "work_ratio_paper_to_measured": round(ratio, 1),
        "paper_runtime_this_cpu_h": round(cpu_hours, 2),
        "paper_gpu_hours": round(cpu_hours / ASSUMED_GPU_SPEEDUP, 2) if requests.get("gpu") else 0.0,
        "paper_request": f"{requests['threads']} CPUs, {requests['mem_mb']} MB, {requests['runtime']} min"
                         + (f", {requests['gpu']} GPU" if requests.get("gpu") else ""),
    }
