"""fig-lemma1-dynamics: metrics and claim checks from errors.csv (no JAX needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check
from ntk_study.metrics import loglog_slope

FIGURE_ID = "fig-lemma1-dynamics"


def mean_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """Relative error averaged over steps and seeds, per step size."""
    return errors.groupby("step_size_multiple", as_index=False)["relative_error"].mean()


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    errors = pd.read_csv(out_dir / "errors.csv")
    means = mean_errors(errors)
    slope = loglog_slope(means["step_size_multiple"], means["relative_error"])
    decreasing = bool(np.all(np.diff(means["relative_error"].to_numpy()) > 0))
    minimum = settings["min_slope"]
    smallest = means.iloc[0]
    return [check(
        FIGURE_ID, "error-shrinks", slope,
        threshold=f"log-log slope of error vs step size >= {minimum}, error falling at every smaller step",
        passed=slope >= minimum and decreasing, scale=scale,
        measured_text=(f"slope {slope:.2f}; error {smallest['relative_error']:.2g} at eta = "
                       f"{smallest['step_size_multiple']:g}/lambda_max, {means.iloc[-1]['relative_error']:.2g} at "
                       f"{means.iloc[-1]['step_size_multiple']:g}/lambda_max"),
    )]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: an empirical NTK (n^2 m d) at every GD step."""
    n, d, m = settings["n_points"], settings["input_dim"], settings["width"]
    return float(settings["seeds"] * len(settings["step_sizes"]) * settings["steps"] * n**2 * m * d)
