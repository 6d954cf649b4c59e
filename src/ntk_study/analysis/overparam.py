"""fig-overparam: does the test error keep falling once the training error is 0?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from ntk_study.claims import ClaimResult, check

FIGURE_ID = "fig-overparam"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    errors = pd.read_csv(out_dir / "errors.csv").sort_values("width")
    interpolating = errors[errors["train_error"] == 0]
    if len(interpolating) < 3:
        return [check(FIGURE_ID, "test-error-falls", float("nan"), threshold="at least 3 widths with train error 0",
                      passed=False, scale=scale,
                      measured_text=f"only {len(interpolating)} widths reached zero training error")]
    correlation = float(spearmanr(interpolating["width"], interpolating["test_error"]).statistic)
    first, last = interpolating.iloc[0], interpolating.iloc[-1]
    return [check(
        FIGURE_ID, "test-error-falls", correlation,
        threshold="among widths with train error 0: Spearman(width, test error) < 0 and widest < narrowest",
        passed=correlation < 0 and last["test_error"] < first["test_error"], scale=scale,
        measured_text=(f"train error 0 from m = {int(first['width'])}; test error {first['test_error']:.3f} there, "
                       f"{last['test_error']:.3f} at m = {int(last['width'])}; Spearman {correlation:.2f}"),
    )]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: max epochs x n x sum of widths x input size."""
    return float(settings["max_epochs"] * settings["n_train"] * sum(settings["widths"]) * 3072)
