"""fig-generalization-bound: rank correlation of complexity and test error with the noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from ntk_study.claims import ClaimResult, check
from ntk_study.data.two_class import INPUT_DIMS

FIGURE_ID = "fig-generalization-bound"


def rank_correlations(table: pd.DataFrame, column: str) -> dict[str, float]:
    return {dataset: float(spearmanr(rows["noise"], rows[column]).statistic)
            for dataset, rows in table.groupby("dataset")}


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    table = pd.read_csv(out_dir / "bound.csv")
    minimum = settings["min_rank_correlation"]
    rows = []
    for key, column in [("complexity-grows", "complexity"), ("test-error-grows", "network_test_error")]:
        correlations = rank_correlations(table, column)
        text = ", ".join(f"{dataset}: {value:.2f}" for dataset, value in correlations.items())
        rows.append(check(FIGURE_ID, key, min(correlations.values()),
                          threshold=f"Spearman rank correlation with p >= {minimum:g} on every dataset",
                          passed=min(correlations.values()) >= minimum, scale=scale,
                          measured_text=f"Spearman correlation with p: {text}"))
    return rows


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: per dataset, noise levels x steps x n m d, plus n^3."""
    n, m = settings["n_train"], settings["width"]
    return float(sum(len(settings["noise_levels"]) * settings["steps"] * n * m * INPUT_DIMS[d] + n**3
                     for d in settings["datasets"]))
