"""fig-aux-is-ridge: distances and the claim check from predictions.csv and runs.csv (no JAX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check
from ntk_study.metrics import loglog_slope

FIGURE_ID = "fig-aux-is-ridge"


def distances(predictions: pd.DataFrame) -> pd.DataFrame:
    """RMS over test points of network - ridge, per method, width and initialisation."""
    squared = predictions.assign(distance=(predictions["network"] - predictions["ridge"]) ** 2)
    table = squared.groupby(["method", "width", "replicate"], as_index=False)["distance"].mean()
    table["distance"] = np.sqrt(table["distance"])
    return table


def mean_distances(predictions: pd.DataFrame) -> pd.DataFrame:
    """The distance averaged over initialisations: one row per (method, width)."""
    return distances(predictions).groupby(["method", "width"], as_index=False)["distance"].mean()


def slopes(predictions: pd.DataFrame) -> dict[str, float]:
    """Log-log slope of the mean distance against width, per method."""
    return {method: loglog_slope(rows["width"], rows["distance"])
            for method, rows in mean_distances(predictions).groupby("method")}


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    predictions = pd.read_csv(out_dir / "predictions.csv")
    runs = pd.read_csv(out_dir / "runs.csv")
    fitted = slopes(predictions)
    means = mean_distances(predictions)
    max_slope = settings["max_slope"]
    per_method = "; ".join(
        f"{method}: slope {fitted[method]:.3f} (RMS distance {rows['distance'].iloc[0]:.3g} at "
        f"m={rows['width'].iloc[0]}, {rows['distance'].iloc[-1]:.3g} at m={rows['width'].iloc[-1]})"
        for method, rows in means.sort_values("width").groupby("method"))
    context = (f"ridge outputs RMS {runs['rms_ridge'].iloc[0]:.3g}, ridge vs kernel regression "
               f"{runs['ridge_vs_kernel_regression'].iloc[0]:.3g}; test outputs moved <= "
               f"{float((runs['rms_change_second_half'] / runs['rms_distance']).max()):.2g} x the distance "
               f"over the last half of training")
    return [
        check(FIGURE_ID, "gap-shrinks", max(fitted.values()), threshold=f"slope <= {max_slope} for AUX and RDI",
              passed=all(s <= max_slope for s in fitted.values()), scale=scale,
              measured_text=f"{per_method}; {context}"),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: GD steps x n x m x d per run, for two methods and every
    width and initialisation (d = 784, MNIST), plus the kernel entries (n^2 + n n_test) d and one
    n^3 eigendecomposition."""
    n, d = settings["n_train"], 784
    training = 2 * settings["seeds"] * sum(settings["steps"] * n * m * d for m in settings["widths"])
    return float(training + n * (n + settings["n_test"]) * d + n**3)
