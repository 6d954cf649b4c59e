"""study-runtime: rule times per chapter and for the whole study, from Snakemake benchmark files."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from ntk_study import study_runtime
from ntk_study.report import render_study_runtime

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
START = 1_800_000_000.0


def _benchmark(folder, rule: str, wall: float, cpu: float, end: float) -> None:
    path = folder / f"{rule}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:00\t100\t200\t90\t95\t0\t0\t50\t{cpu}\n")
    os.utime(path, (end, end))


@pytest.fixture
def benchmarks(tmp_path):
    folder = tmp_path / "benchmarks"
    _benchmark(folder, "download/mnist", 60, 30, START + 60)  # the first rule starts at START
    _benchmark(folder, "tab-gntk/kernels", 600, 590, START + 660)
    _benchmark(folder, "tab-gntk/compute", 900, 880, START + 1560)
    _benchmark(folder, "tab-uci/compute", 1200, 1150, START + 1500)  # side by side with tab-gntk
    _benchmark(folder, "fig-ntk-init/compute", 300, 290, START + 1860)
    _benchmark(folder, "scorecard", 5, 4, START + 1865)  # the last rule ends at START + 1865
    return folder


def test_groups_sum_their_rules_and_compare_with_the_chapter_budgets(benchmarks):
    summary = study_runtime.summarise(study_runtime.read_rules(benchmarks)).set_index("group")
    tables = summary.loc["Chapter 4: kernel tables"]
    assert tables["rules"] == 3
    assert tables["wall_min"] == pytest.approx(2700 / 60, abs=0.05)  # over its 30-minute budget
    assert tables["cpu_use"] == pytest.approx(2620 / 2700, abs=0.005)
    assert tables["within"] == "no"
    assert summary.loc["Chapter 2: the NTK", "within"] == "yes"  # 5 of 10 minutes
    assert summary.loc[study_runtime.DATA_GROUP, "budget"] == ""
    assert study_runtime.REPORT_GROUP in summary.index  # the top-level scorecard file


def test_the_whole_study_is_the_elapsed_span_with_its_cpu_use(benchmarks):
    study = study_runtime.summarise(study_runtime.read_rules(benchmarks)).iloc[-1]
    assert study["wall_min"] == pytest.approx(1865 / 60, abs=0.05)
    cpu = (30 + 590 + 880 + 1150 + 290 + 4) / 60
    assert study["cpu_min"] == pytest.approx(cpu, abs=0.05)
    assert study["cpu_use"] == pytest.approx(cpu / (1865 / 60), abs=0.005)
    assert study["within"] == "no"  # 31 minutes, but at 158% CPU, short of 180%

def test_rendered_table_lists_the_largest_rules_first(benchmarks):
    summary, rules = study_runtime.tables(benchmarks)
    text = render_study_runtime(summary, rules, largest=2)
    assert text.index("tab-uci/compute") < text.index("tab-gntk/compute")
    assert "fig-ntk-init/compute" not in text.split("largest rules")[1]


def test_no_benchmark_files_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the study first"):
        study_runtime.read_rules(tmp_path)


def test_the_budget_groups_cover_every_figure_of_the_catalog_once():
    from ntk_study import catalog

    grouped = [figure for budget in study_runtime.BUDGETS for figure in budget.figure_ids]
    figures = [spec.id for spec in catalog.figures() if spec.id != "tab-scorecard"]
    assert sorted(grouped) == sorted(figures)


def test_cost_per_replicate_divides_a_compute_rule_by_its_claims_replicates(benchmarks, tmp_path):
    from ntk_study.claims import decide, exact, write_claims

    results = tmp_path / "results"
    write_claims(results / "fig-ntk-init" / "claims.csv",
                 [decide("fig-ntk-init", "slope", [-0.5] * 30, "test"),
                  decide("fig-ntk-init", "below-bound", [0.1, 0.2], "test")])
    write_claims(results / "fig-imagenet-winners" / "claims.csv",
                 [exact("fig-imagenet-winners", "error-falls", -0.5, holds=True, scale="test")])
    summary, rules = study_runtime.tables(benchmarks, results)
    costs = rules.set_index("rule")
    assert costs.loc["fig-ntk-init/compute", "replicates"] == 30
    assert costs.loc["fig-ntk-init/compute", "s_per_replicate"] == pytest.approx(10.0)
    assert costs["replicates"].drop("fig-ntk-init/compute").isna().all()  # no claims, or not a compute rule
    assert "| fig-ntk-init/compute |" in render_study_runtime(summary, rules).split("Cost of a replicate")[1]
    # The book reads the table back from CSV with empty cells kept as text.
    written = tmp_path / "rules.csv"
    rules.to_csv(written, index=False)
    read_back = pd.read_csv(written, keep_default_na=False)
    costs = render_study_runtime(summary, read_back).split("Cost of a replicate")[1]
    assert "| fig-ntk-init/compute |" in costs and "tab-uci/compute" not in costs
