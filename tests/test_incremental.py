"""Incremental rebuilds: an edit reruns only the rules that read the edited file.

Works on a copy of the finished test-config run (the session fixture ``study``, shared with
tests/test_workflow.py), so the dry runs here neither wait for a new run nor disturb that one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from checkout import SNAKEMAKE
from ntk_study.figures import REGISTRY

# Bookkeeping rules that read a figure's plot outputs or its plot benchmark: the figure's
# provenance record (its outputs and each rule's runtime, plot.tsv included), the paper-scale
# estimate and the study's runtime table (every benchmark) and the book. Neither compute, kernels,
# claims nor the scorecard.
AFTER_PLOT = {"provenance", "cluster_estimate", "study_runtime", "book"}


def snakemake(workdir: Path, mirror: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, "--cores", "2", "--configfile", "config/test.yaml",
                           "--config", f"data_mirror={mirror}", *args],
                          cwd=workdir, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})


def planned_jobs(workdir: Path, mirror: Path) -> Counter:
    """Rule name -> job count of a dry run (its "Job stats" table, less the target rule `all`);
    empty when nothing is to do."""
    dry = snakemake(workdir, mirror, "-n")
    output = dry.stdout + dry.stderr
    assert dry.returncode == 0, output[-3000:]
    if "Nothing to be done" in output:
        return Counter()
    table = output.split("Job stats:", 1)[1].splitlines()
    start = next(k for k, line in enumerate(table) if line.startswith("---")) + 1
    jobs = Counter()
    for line in table[start:]:
        name, count = line.split()
        if name == "total":
            return jobs
        if name != "all":
            jobs[name] = int(count)
    raise AssertionError(f"no total in the dry run's job stats:\n{output[-3000:]}")


def newest_output(workdir: Path) -> float:
    return max(path.stat().st_mtime for folder in ("results", "report/_build")
               for path in (workdir / folder).rglob("*") if path.is_file())


@contextmanager
def edited(workdir: Path, relative: str, line: str):
    """Append ``line`` to a file and make it newer than every output (an edit), then restore
    its text and times. Snakemake compares the checksums of small inputs with those it recorded,
    so a touch alone (same text, newer mtime) does not count as an edit."""
    path = workdir / relative
    before, text = path.stat(), path.read_text()
    path.write_text(text + line)
    stamp = newest_output(workdir) + 10
    os.utime(path, (stamp, stamp))
    try:
        yield
    finally:
        path.write_text(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.fixture(scope="module")
def finished(study, mirror, tmp_path_factory) -> Path:
    """A private copy of the finished run (mtimes and Snakemake's records kept), up to date."""
    workdir = tmp_path_factory.mktemp("incremental") / "study"
    shutil.copytree(study, workdir, symlinks=True)
    if planned_jobs(workdir, mirror):  # another test forced a rule of the shared run: catch up
        run = snakemake(workdir, mirror)
        assert run.returncode == 0, run.stderr[-3000:]
    assert planned_jobs(workdir, mirror) == Counter()
    return workdir


@pytest.mark.slow
def test_editing_a_page_reruns_only_the_book(finished, mirror):
    with edited(finished, "report/ntk.md", "\nOne more sentence.\n"):
        assert planned_jobs(finished, mirror) == Counter({"book": 1})


@pytest.mark.slow
def test_editing_a_plot_module_reruns_its_plots_and_the_book_only(finished, mirror):
    name = "convergence"  # draws two figures: fig-convergence-mnist and fig-convergence-cifar
    figures = [job for job in REGISTRY.values() if job.name == name]
    assert len(figures) == 2
    with edited(finished, f"src/ntk_study/plots/{name}.py", "\n# an edit\n"):
        jobs = planned_jobs(finished, mirror)
    plots = {f"{job.rule_prefix}_plot" for job in figures}
    expected = {**{rule: 1 for rule in plots}, "provenance": len(figures), "cluster_estimate": 1,
                "study_runtime": 1, "book": 1}
    assert jobs == Counter(expected)
    assert set(jobs) - plots == AFTER_PLOT  # no compute, kernels, data, claims or scorecard job
