"""The workflow on a real SLURM cluster (slurmctld + slurmd started on this machine).

Runs the README's cluster command with config/test.yaml, with two failure drills:
the run is interrupted while a job runs and then resumed (only unfinished jobs are redone), and
during the resumed run one SLURM job is killed with scancel (it is retried and the study
completes).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from checkout import REPO, SNAKEMAKE, copy_checkout
from cluster_jobs import HEAVY_RULES
from ntk_study.config import load_config
from slurm_cluster import LocalSlurmCluster, missing_binaries, private_mounts_unavailable

pytestmark = pytest.mark.slow


def readme_cluster_command() -> list[str]:
    """The README's cluster command, turned to the test config and the offline mirror."""
    lines = [line.strip() for line in (REPO / "README.md").read_text().splitlines()]
    command = next(line for line in lines if line.startswith("snakemake --profile profiles/slurm"))
    assert command == "snakemake --profile profiles/slurm --configfile config/paper.yaml"
    return [SNAKEMAKE, *shlex.split(command.replace("config/paper.yaml", "config/test.yaml"))[1:]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        pytest.skip(f"SLURM is not installed here (missing {', '.join(missing)}); .ci/run installs slurm-wlm and munge")
    if os.geteuid() != 0:
        pytest.skip("starting munged, slurmctld and slurmd needs root")
    why_not = private_mounts_unavailable()
    if why_not:
        pytest.skip(f"the test cluster runs in a private mount namespace, and here {why_not}")
    local = LocalSlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        local.start()
    except Exception:
        local.stop()
        raise
    yield local
    local.stop()


def _interruptible() -> None:
    """In the child before exec: Ctrl-C back to its default. A shell starts background commands with
    SIGINT ignored, the ignore is inherited, and Python then never raises KeyboardInterrupt: a test
    suite run in the background (`.ci/run &`) would see Snakemake sit through the drill's SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(command: list[str], workdir: Path, cluster: LocalSlurmCluster, log: Path) -> subprocess.Popen:
    handle = open(log, "w")
    return subprocess.Popen(command, cwd=workdir, env=cluster.env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=_interruptible)


def wait_for_running(cluster: LocalSlurmCluster, rule: str | None, process: subprocess.Popen,
                     timeout: float) -> str:
    """The SLURM job id of the first job of ``rule`` (any rule if None) seen RUNNING."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        for line in cluster.squeue("%i %k %T"):
            job_id, comment, state = line.split()
            wanted = rule is None or comment == f"rule_{rule}" or comment.startswith(f"rule_{rule}_wildcards_")
            if wanted and state == "RUNNING":
                return job_id
        time.sleep(0.3)
    raise AssertionError(f"no {rule or 'cluster'} job ran on SLURM within {timeout} s")


def submissions(log_text: str) -> list[tuple[str, str, str, Path]]:
    """(Snakemake job, SLURM job id, rule, SLURM log) for every submission in a Snakemake log."""
    pattern = r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S*/slurm_logs/rule_(\w+)/\S*)\)"
    return [(job, slurm_id, rule, Path(path)) for job, slurm_id, path, rule in re.findall(pattern, log_text)]


def plan(workdir: Path, mirror: Path) -> tuple[dict[Path, float], list[Path]]:
    """Snakemake's own account after an interruption: outputs it keeps (with their mtimes) and
    outputs it will redo (missing, or incomplete because their job was interrupted)."""
    config = ["--configfile", "config/test.yaml", "--config", f"data_mirror={mirror}"]
    summary = subprocess.run([SNAKEMAKE, "--summary", *config], cwd=workdir, capture_output=True, text=True,
                             check=True)
    outputs = pd.read_csv(io.StringIO(summary.stdout), sep="\t")["output_file"]
    dry_run = subprocess.run([SNAKEMAKE, "-n", "--rerun-incomplete", *config], cwd=workdir, capture_output=True,
                             text=True, check=True)
    redo = {name.strip() for line in re.findall(r"^\s+output: (.*)$", dry_run.stdout, re.MULTILINE)
            for name in line.split(",")}
    kept = {workdir / name: (workdir / name).stat().st_mtime for name in outputs
            if name not in redo and (workdir / name).exists()}
    return kept, [workdir / name for name in sorted(redo)]


def test_study_on_slurm_survives_interruption_and_a_killed_job(cluster, tmp_path, mirror):
    workdir = copy_checkout(tmp_path / "study")
    command = readme_cluster_command() + ["--config", f"data_mirror={mirror}"]

    # Drill 1: interrupt the workflow while a SLURM job runs (a dataset preparation, so some
    # downloads have finished), then resume.
    first = start(command, workdir, cluster, tmp_path / "first.log")
    wait_for_running(cluster, "prepare", first, timeout=300)
    os.killpg(first.pid, signal.SIGINT)
    first.wait(timeout=180)
    assert first.returncode != 0
    finished, pending = plan(workdir, mirror)
    assert finished and pending, (tmp_path / "first.log").read_text()[-3000:]

    # Drill 2: during the resumed run, kill one SLURM job once; the profile's retries redo it.
    started = time.time()
    second = start(command, workdir, cluster, tmp_path / "second.log")
    killed = wait_for_running(cluster, None, second, timeout=300)
    subprocess.run(["scancel", killed], env=cluster.env, check=True)
    second.wait(timeout=1200)
    log = (tmp_path / "second.log").read_text()
    assert second.returncode == 0, log[-4000:]

    # Only unfinished jobs were redone: outputs kept after the interruption are untouched.
    assert {path: path.stat().st_mtime for path in finished} == finished
    assert all(path.stat().st_mtime > started for path in pending)

    # The heavy jobs ran as SLURM jobs, each with its SLURM log; the killed one was restarted
    # under a new SLURM job id; the light rules stayed on the submit host.
    submitted = submissions(log)
    killed_job = next(job for job, slurm_id, _, _ in submitted if slurm_id == killed)
    assert f"Trying to restart job {killed_job}." in log
    assert len([1 for job, _, _, _ in submitted if job == killed_job]) == 2
    rules = {rule for _, _, rule, _ in submitted}
    assert rules <= HEAVY_RULES, rules
    assert any(rule.endswith("_compute") for rule in rules)
    assert all(slurm_log.exists() for _, _, _, slurm_log in submitted)

    # The outputs are the study's: every chapter-2 claim computed, the book built, and the numbers
    # equal to a local run of the same config.
    scorecard = pd.read_csv(workdir / "results" / "scorecard.csv", dtype=str, keep_default_na=False)
    assert set(scorecard.loc[scorecard["id"] == "fig-ntk-init", "verdict"]) <= {"holds", "fails", "undecided"}
    assert (workdir / "report" / "_build" / "html" / "index.html").exists()
    config = load_config(workdir / "config" / "test.yaml")
    # The local run gets the rule's threads, as the SLURM job did: JAX's pool size follows them, and
    # the pool size sets the order of floating-point sums (the widest kernels differ in the last
    # digits at 1 and 2 threads).
    threads = config["resources"]["accelerated"]["threads"]
    local_env = {key: value for key, value in os.environ.items() if key != "NPROC"} | {"OMP_NUM_THREADS": str(threads)}
    local = subprocess.run([sys.executable, "-m", "ntk_study", "compute", "fig-ntk-init", "--settings",
                            json.dumps(config["figures"]["fig-ntk-init"]), "--seed", "0", "--results-dir",
                            str(tmp_path / "local")], capture_output=True, text=True, env=local_env)
    assert local.returncode == 0, local.stderr[-2000:]
    on_cluster = (workdir / "results" / "fig-ntk-init" / "distances.csv").read_text()
    assert on_cluster == (tmp_path / "local" / "fig-ntk-init" / "distances.csv").read_text()
