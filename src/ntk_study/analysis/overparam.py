"""fig-overparam: does the test error keep falling once the training error is 0?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from ntk_study.claims import ClaimRow, decide, not_testable

FIGURE_ID = "fig-overparam"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    errors = pd.read_csv(out_dir / "errors.csv").sort_values("width")
    correlations, texts = [], []
    for seed, sweep in errors.groupby("seed"):
        interpolating = sweep[sweep["train_error"] == 0]
        if len(interpolating) < 3:
            texts.append(f"seed {seed}: only {len(interpolating)} widths reached training error 0")
            continue
        correlations.append(float(spearmanr(interpolating["width"], interpolating["test_error"]).statistic))
        first, last = interpolating.iloc[0], interpolating.iloc[-1]
        texts.append(f"seed {seed}: train error 0 from m = {int(first['width'])}, test error "
                     f"{first['test_error']:.3f} there and {last['test_error']:.3f} at m = {int(last['width'])}")
    if not correlations:
        return [not_testable(FIGURE_ID, "test-error-falls", scale,
                             "no seed has 3 widths with training error 0 (the premise): " + "; ".join(texts))]
    return [decide(FIGURE_ID, "test-error-falls", correlations, scale, details="; ".join(texts))]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: seeds x max epochs x n x sum of widths x input size."""
    return float(settings["seeds"] * settings["max_epochs"] * settings["n_train"] * sum(settings["widths"]) * 3072)
