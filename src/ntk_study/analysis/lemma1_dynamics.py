"""fig-lemma1-dynamics: metrics and claim checks from errors.csv (no JAX needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.metrics import slopes_per_replicate

FIGURE_ID = "fig-lemma1-dynamics"


def mean_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """Relative error averaged over steps and seeds, per step size."""
    return errors.groupby("step_size_multiple", as_index=False)["relative_error"].mean()


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    errors = pd.read_csv(out_dir / "errors.csv")
    per_seed = errors.groupby(["replicate", "step_size_multiple"], as_index=False)["relative_error"].mean()
    slopes = slopes_per_replicate(per_seed, "step_size_multiple", "relative_error", ["replicate"])
    means = mean_errors(errors)
    smallest, largest = means.iloc[0], means.iloc[-1]
    return [decide(
        FIGURE_ID, "error-shrinks", slopes.to_list(), scale,
        details=(f"mean relative error {smallest['relative_error']:.2g} at eta = {smallest['step_size_multiple']:g}"
                 f"/lambda_max, {largest['relative_error']:.2g} at {largest['step_size_multiple']:g}/lambda_max"),
    )]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: an empirical NTK (n^2 m d) at every GD step."""
    n, d, m = settings["n_points"], settings["input_dim"], settings["width"]
    return float(settings["seeds"] * len(settings["step_sizes"]) * settings["steps"] * n**2 * m * d)
