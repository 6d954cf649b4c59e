"""fig-aux-is-ridge: distances and the claim check from predictions.csv and runs.csv (no JAX).

The claim is decided from one log-log slope per initialisation and method; two gates come first,
since without them a shrinking distance would not be evidence for Theorem 5: the nets converged
(their test outputs barely moved over the last half of training), and at the widest width they
are closer to the ridge predictor than to plain kernel regression (so the test tells ridge
regression, the theorem's limit, from kernel regression, normal training's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide_every, not_testable
from ntk_study.metrics import loglog_slope, slopes_per_replicate

FIGURE_ID = "fig-aux-is-ridge"
# Gate "converged", set before the runs: over the last half of training no run's test outputs
# moved (RMS) by more than this fraction of their distance to the ridge predictor. GD converges
# geometrically, so what is left to move is at most what the last half moved: the measured
# distance is then within this fraction of the run's limit.
CONVERGED_FRACTION = 0.25


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


def gates(runs: pd.DataFrame) -> tuple[str | None, str]:
    """(why the claim is not testable, or None; the gates' numbers as text)."""
    moved = float((runs["rms_change_second_half"] / runs["rms_distance"]).max())
    widest = runs[runs["width"] == runs["width"].max()]
    distance, apart = float(widest["rms_distance"].max()), float(widest["ridge_vs_kernel_regression"].min())
    width = int(widest["width"].iloc[0])
    converged = (f"outputs moved <= {moved:.2g} x their distance over the last half of training "
                 f"(gate {CONVERGED_FRACTION:g})")
    # RMS over the test points is a norm: distance to ridge < half of ridge-to-kernel-regression
    # puts every net closer to the ridge predictor than to kernel regression (triangle inequality).
    resolved = (f"at m={width} distance to ridge <= {distance:.3g}, ridge vs kernel regression "
                f"{apart:.3g} (gate: under half)")
    if moved > CONVERGED_FRACTION:
        return f"the nets had not converged: {converged}", f"{converged}; {resolved}"
    if not distance < apart / 2:
        return (f"the widest nets are not resolved from plain kernel regression: {resolved}",
                f"{converged}; {resolved}")
    return None, f"{converged}; {resolved}"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    predictions = pd.read_csv(out_dir / "predictions.csv")
    runs = pd.read_csv(out_dir / "runs.csv")
    why, gate_text = gates(runs)
    if why is not None:
        return [not_testable(FIGURE_ID, "gap-shrinks", scale, why)]
    per_run = distances(predictions)
    per_method = {method: slopes_per_replicate(rows, "width", "distance", ["replicate"]).to_list()
                  for method, rows in per_run.groupby("method")}
    means = mean_distances(predictions).sort_values("width")
    described = "; ".join(
        f"{method}: RMS distance {rows['distance'].iloc[0]:.3g} at m={rows['width'].iloc[0]}, "
        f"{rows['distance'].iloc[-1]:.3g} at m={rows['width'].iloc[-1]}"
        for method, rows in means.groupby("method"))
    floor = float(runs["linearised_floor"].max())
    return [decide_every(FIGURE_ID, "gap-shrinks", per_method, scale, noun="method",
                         details=f"{described}; {gate_text}; linearised floor {floor:.2g}")]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: GD steps x n x m x d per run, for two methods and every
    width and initialisation (d = 784, MNIST), plus the kernel entries (n^2 + n n_test) d and one
    n^3 eigendecomposition."""
    n, d = settings["n_train"], 784
    training = 2 * settings["seeds"] * sum(settings["steps"] * n * m * d for m in settings["widths"])
    return float(training + n * (n + settings["n_test"]) * d + n**3)
