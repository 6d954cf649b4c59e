"""End to end: the test config through Snakemake, from the mirror to the built book."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from checkout import copy_checkout
from cluster_jobs import HEAVY_RULES, remote_rules
from conftest import snakemake  # the `study` fixture (the whole test config, built once) is in conftest.py
from ntk_study import catalog
from ntk_study.claims import COLUMNS, NOT_REPRODUCED, VERDICTS
from ntk_study.figures import REGISTRY


@pytest.mark.slow
def test_scorecard_covers_every_figure(study):
    scorecard = pd.read_csv(study / "results" / "scorecard.csv", dtype=str, keep_default_na=False)
    assert list(scorecard.columns) == COLUMNS
    assert set(scorecard["id"]) == {spec.id for spec in catalog.figures()}
    for figure_id in REGISTRY:
        rows = scorecard[scorecard["id"] == figure_id]
        assert NOT_REPRODUCED not in set(rows["verdict"]), figure_id  # computed, not pending
        assert set(rows["verdict"]) <= set(VERDICTS), figure_id
        decided_or_said = rows[rows["verdict"].isin(["undecided"])]
        assert (decided_or_said["to_decide"] != "").all(), figure_id  # an undecided row says what would decide it
        assert len(rows) == len(catalog.figure(figure_id).claims)
    assert (scorecard["scale"] == "test").all()


@pytest.mark.slow
def test_every_rule_has_log_and_benchmark(study):
    rule_files = ["download/mnist", "prepare/cifar10", "prepare/uci121", "prepare/tu-MUTAG", "book", "scorecard"]
    rule_files += [f"{figure_id}/{step}" for figure_id, job in REGISTRY.items()
                   for step in ("data" if job.data_from else "compute", "claims", "plot")]
    rule_files += [f"{figure_id}/kernels" for figure_id, job in REGISTRY.items() if job.kernel_files]
    # tab-cntk's full-CIFAR setting (test config: 3 shards, depths 3 and 4)
    rule_files += ["tab-cntk/full_kernels_0", "tab-cntk/full_kernels_2", "tab-cntk/full_solve", "tab-cntk/full_cnn_L4"]
    for name in rule_files:
        assert (study / "benchmarks" / f"{name}.tsv").exists(), name
        assert (study / "logs" / f"{name}.log").exists(), name


@pytest.mark.slow
def test_book_shows_figure_claims_and_provenance(study):
    html = study / "report" / "_build" / "html"
    page = (html / "ntk.html").read_text()
    assert page.count("Provenance") == 4 and "Git commit" in page
    assert "peak RSS" in page and page.count("<strong>Claim checks</strong>") == 4
    for figure_id, job in REGISTRY.items():
        snippet = (study / "report" / "_generated" / f"{figure_id}.md").read_text()
        assert all(f"_generated/{figure_id}/{image}" in snippet for image in job.image_files)
        if job.table_files:  # the plot stage's tables appear inline
            assert "| " in snippet
    assert len(list((html / "_images").glob("*.png"))) == sum(len(j.image_files) for j in REGISTRY.values())
    summary = (html / "summary.html").read_text()
    # The scorecard page: the verdict rule in words, the tally, and each claim linked to its figure.
    assert "How a claim is decided" in summary and "undecided" in summary and "fig-ntk-init" in summary
    assert re.search(r"\d+ claims: \d+ hold", summary)
    # The book read the mirror's checksums through the data manifests, not a recomputation.
    manifest = (study / "resources" / "raw" / "mnist" / "manifest.json").read_text()
    assert "sha256" in manifest


@pytest.mark.slow
def test_rerun_has_nothing_to_do_and_results_are_deterministic(study, mirror):
    dry = snakemake(study, "-n", "--configfile", "config/test.yaml", "--config", f"data_mirror={mirror}")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr
    first = (study / "results" / "fig-ntk-init" / "distances.csv").read_text()
    again = snakemake(study, "--configfile", "config/test.yaml", "--config", f"data_mirror={mirror}",
                      "--forcerun", "fig_ntk_init_compute", "--until", "fig_ntk_init_compute")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (study / "results" / "fig-ntk-init" / "distances.csv").read_text() == first


@pytest.mark.slow
def test_children_are_respawned_when_the_parent_run_changes(study, mirror):
    # fig-parent-child's compute reads fig-kernel-velocity's checkpoints (inputs_from)
    dry = snakemake(study, "-n", "--configfile", "config/test.yaml", "--config", f"data_mirror={mirror}",
                    "--forcerun", "fig_kernel_velocity_compute")
    assert dry.returncode == 0, dry.stderr[-2000:]
    jobs = dry.stdout + dry.stderr
    assert "fig_parent_child_compute" in jobs and "fig_kernel_velocity_compute" in jobs
    assert "fig_ntk_init_compute" not in jobs


@pytest.mark.slow
def test_invalid_config_stops_before_any_job(study, tmp_path):
    run = snakemake(study, "-n", "--configfile", "config/test.yaml", "--config", "seed=-1")
    assert run.returncode != 0
    assert "seed: -1 is less than the minimum of 0" in run.stdout + run.stderr


@pytest.mark.slow
def test_missing_mirror_fails_clearly_without_output(tmp_path_factory):
    workdir = copy_checkout(tmp_path_factory.mktemp("nomirror"))
    run = snakemake(workdir, "resources/prepared/mnist.npz", "--configfile", "config/test.yaml",
                    "--config", "data_mirror=/nonexistent/mirror")
    assert run.returncode != 0
    log = (workdir / "logs" / "download" / "mnist.log").read_text()
    assert "/nonexistent/mirror/mnist/SHA256SUMS" in log and "fix data_mirror" in log
    assert not (workdir / "resources" / "raw" / "mnist" / "manifest.json").exists()


def test_only_heavy_rules_are_cluster_jobs():
    """Reading benchmark files or writing a table is no cluster job: a new light rule must be
    declared local (the SLURM test checks the same on a real cluster)."""
    remote = remote_rules()
    assert remote <= HEAVY_RULES, sorted(remote - HEAVY_RULES)
    assert {"prepare", "fig_ntk_init_compute", "tab_gntk_kernels"} <= remote


@pytest.mark.parametrize("configs", [("config.yaml",), ("paper.yaml",), ("test.yaml",),
                                     ("config.yaml", "workstation.yaml")], ids=lambda c: "+".join(c))
def test_every_image_dataset_a_figure_reads_is_an_input_of_its_rules(configs):
    """A figure whose config names its image dataset(s) gets exactly those prepared files as rule
    inputs, at every scale: a scale that switches dataset (tab-noisy-labels: MNIST quick, CIFAR-10
    paper) must not leave the rule waiting for the other one, or without the file it reads."""
    from pathlib import Path

    from ntk_study.config import load_layered_config
    from ntk_study.data.two_class import INPUT_DIMS as IMAGE_DATASETS

    root = Path(__file__).resolve().parents[1] / "config"
    figures = load_layered_config(*(root / name for name in configs))["figures"]
    for figure_id, settings in figures.items():
        job = REGISTRY.get(figure_id)
        if job is None or job.data_from or job.graph_sets_in_settings:
            continue
        named = [settings["dataset"]] if settings.get("dataset") else list(settings.get("datasets") or [])
        named = [name for name in named if name in IMAGE_DATASETS]  # tab-uci's "datasets" are UCI tasks
        assert set(named) <= set(job.prepared_datasets(settings)), (figure_id, named)
