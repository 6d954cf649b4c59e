"""fig-generalization-bound: do the complexity and the test error grow with the label noise p?

One replicate is a sweep over the noise levels: draw d at every p (each run has its own label
draw and initialisation), per dataset. Its statistic is the Spearman correlation of p with the
quantity over the sweep; "grows, rank correlation near 1" holds when the interval of the mean
correlation lies above 0.8. The test-error claim is about networks trained to near-zero loss:
if any network missed the stated loss, its premise is absent and the row says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import linregress, spearmanr

from ntk_study.claims import ClaimRow, decide, not_testable
from ntk_study.data.two_class import INPUT_DIMS

FIGURE_ID = "fig-generalization-bound"


def trends(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per dataset: slope of ``column`` against the noise p over all draws, its standard error, and
    the Spearman correlation of the per-p means with p."""
    rows = {}
    for dataset, group in table.groupby("dataset", sort=False):
        fit = linregress(group["noise"], group[column])
        means = group.groupby("noise")[column].mean()
        rows[dataset] = {"slope": fit.slope, "se": fit.stderr,
                         "spearman": spearmanr(means.index, means.to_numpy()).statistic}
    return pd.DataFrame.from_dict(rows, orient="index")


def _trend_text(trend: pd.DataFrame) -> str:
    return ", ".join(f"{dataset}: slope {row.slope:.3f} +- {row.se:.3f} (SE), Spearman of the means {row.spearman:.2f}"
                     for dataset, row in trend.iterrows())


def rank_correlations(table: pd.DataFrame, column: str) -> pd.Series:
    """Spearman correlation of the noise p with ``column`` per (dataset, draw) sweep over p."""
    return table.groupby(["dataset", "draw"]).apply(
        lambda sweep: spearmanr(sweep["noise"], sweep[column]).statistic, include_groups=False)


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    table = pd.read_csv(out_dir / "bound.csv")
    target = settings["target_loss_fraction"]
    bound = trends(table, "complexity")
    ends = table.groupby(["dataset", "noise"])["complexity"].mean()
    vacuous = ", ".join(f"{dataset} {ends[dataset].iloc[0]:.2f} at p = {ends[dataset].index[0]:g} to "
                        f"{ends[dataset].iloc[-1]:.2f} at p = {ends[dataset].index[-1]:g}"
                        for dataset in bound.index)
    error, kernel = trends(table, "network_test_error"), trends(table, "kernel_test_error")
    trained = int((table["final_loss_fraction"] <= target).sum())
    training_text = (f"{trained} of {len(table)} networks reached 1/2 sum (u - y)^2 <= {target:g} x its initial "
                     f"value (largest final fraction {table['final_loss_fraction'].max():.3g})")
    complexity_row = decide(FIGURE_ID, "complexity-grows", rank_correlations(table, "complexity").to_list(), scale,
                            details=f"{_trend_text(bound)}; mean bound {vacuous} (vacuous where > 1)")
    if trained < len(table):
        return [complexity_row, not_testable(FIGURE_ID, "test-error-grows", scale, training_text)]
    return [complexity_row,
            decide(FIGURE_ID, "test-error-grows", rank_correlations(table, "network_test_error").to_list(), scale,
                   details=f"network: {_trend_text(error)}; kernel predictor: {_trend_text(kernel)}; {training_text}")]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: per dataset, at most draws x noise levels x max_steps x
    n min(n, d) m for GD (in the span of the inputs), plus n^3."""
    n, m = settings["n_train"], settings["width"]
    runs = settings["label_draws"] * len(settings["noise_levels"])
    return float(sum(runs * settings["max_steps"] * n * min(n, INPUT_DIMS[d]) * m + n**3 for d in settings["datasets"]))
