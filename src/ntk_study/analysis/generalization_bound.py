"""fig-generalization-bound: do the complexity and the test error grow with the label noise p?

"Grows" is measured against the spread over label draws: the least-squares slope of the quantity
against p, over every (p, draw), must exceed ``trend_z`` standard errors of that slope on every
dataset. The test-error claim also needs every network trained to the stated loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import linregress, spearmanr

from ntk_study.claims import ClaimResult, check
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


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    table = pd.read_csv(out_dir / "bound.csv")
    z, target = settings["trend_z"], settings["target_loss_fraction"]
    draws = table["draw"].nunique()
    threshold = f"slope vs p > {z:g} standard errors (over {draws} label draws per p) on every dataset"
    bound = trends(table, "complexity")
    ends = table.groupby(["dataset", "noise"])["complexity"].mean()
    vacuous = ", ".join(f"{dataset} {ends[dataset].iloc[0]:.2f} at p = {ends[dataset].index[0]:g} to "
                        f"{ends[dataset].iloc[-1]:.2f} at p = {ends[dataset].index[-1]:g}"
                        for dataset in bound.index)
    error = trends(table, "network_test_error")
    kernel = trends(table, "kernel_test_error")
    trained = int((table["final_loss_fraction"] <= target).sum())
    return [
        check(FIGURE_ID, "complexity-grows", float((bound["slope"] / bound["se"]).min()),
              threshold=threshold, passed=bool((bound["slope"] > z * bound["se"]).all()), scale=scale,
              measured_text=f"{_trend_text(bound)}; mean bound {vacuous} (vacuous where > 1)"),
        check(FIGURE_ID, "test-error-grows", float((error["slope"] / error["se"]).min()),
              threshold=f"{threshold}; every network trained to 1/2 sum (u - y)^2 <= {target:g} x its initial value",
              passed=bool((error["slope"] > z * error["se"]).all()) and trained == len(table), scale=scale,
              measured_text=(f"network: {_trend_text(error)}; kernel predictor: {_trend_text(kernel)}; "
                             f"{trained} of {len(table)} networks reached the loss "
                             f"(largest final fraction {table['final_loss_fraction'].max():.3g})")),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: per dataset, at most draws x noise levels x max_steps x
    n min(n, d) m for GD (in the span of the inputs), plus n^3."""
    n, m = settings["n_train"], settings["width"]
    runs = settings["label_draws"] * len(settings["noise_levels"])
    return float(sum(runs * settings["max_steps"] * n * min(n, INPUT_DIMS[d]) * m + n**3 for d in settings["datasets"]))
