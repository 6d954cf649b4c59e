"""fig-convergence-*: speed of true vs random labels and Theorem 4's fit, from curves.csv.

One replicate is a run: an initialisation, with its own draw of the random labels. "True labels
converge faster" is the per-run ratio of the steps random and true labels need to halve their
loss. "The prediction tracks the loss" is measured against the curve's own scale: per run, the
largest gap over the steps between the measured and the predicted ||y - u(k)|| / ||y||, divided by
the predicted fall 1 - ||y - u(end)|| / ||y|| (a network that never trained has a gap as large as
the fall), worst label set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.data.two_class import INPUT_DIMS

LABEL_SETS = ("true", "random", "worst")


def steps_to_half(curve: pd.DataFrame, column: str = "measured") -> float:
    """Step at which ||y - u||^2 first falls to half its initial value, interpolated in log loss
    between the recorded steps (inf if it never does)."""
    steps, values = curve["step"].to_numpy(float), curve[column].to_numpy()
    below = np.flatnonzero(values <= values[0] / 2)
    if not len(below):
        return float("inf")
    j = below[0]
    if j == 0:
        return float(steps[0])
    share = np.log(values[j - 1] / (values[0] / 2)) / np.log(values[j - 1] / values[j])
    return float(steps[j - 1] + share * (steps[j] - steps[j - 1]))


def deviations(curves: pd.DataFrame) -> pd.DataFrame:
    """Per label set and recorded step, in units of ||y||_2 (Theorem 4 gives ||y - u(k)||_2 up to an
    additive error): ``mean`` and ``std`` over runs of (measured - predicted) ||y - u(k)|| / ||y||,
    and ``remaining``, the predicted ||y - u(k)|| / ||y|| (mean over runs)."""
    norm = curves.groupby(["labels", "run"])["predicted"].transform("first")  # ||y||^2 (u(0) = 0)
    table = curves.assign(deviation=np.sqrt(curves["measured"] / norm) - np.sqrt(curves["predicted"] / norm),
                          remaining=np.sqrt(curves["predicted"] / norm))
    return table.groupby(["labels", "step"]).agg(mean=("deviation", "mean"), std=("deviation", "std"),
                                                 remaining=("remaining", "mean"))


def relative_gaps(curves: pd.DataFrame) -> pd.DataFrame:
    """Per run (rows) and label set (columns): max_k |measured - predicted| ||y - u(k)|| / ||y||
    divided by the predicted fall 1 - ||y - u(end)|| / ||y||."""
    norm = curves.groupby(["labels", "run"])["predicted"].transform("first")  # ||y||^2 (u(0) = 0)
    table = curves.assign(gap=(np.sqrt(curves["measured"] / norm) - np.sqrt(curves["predicted"] / norm)).abs(),
                          remaining=np.sqrt(curves["predicted"] / norm))
    per_run = table.groupby(["labels", "run"]).agg(gap=("gap", "max"), remaining=("remaining", "last"))
    ratio = (per_run["gap"] / (1 - per_run["remaining"])).unstack("labels")
    return ratio[[name for name in LABEL_SETS if name in ratio.columns]]


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    curves = pd.read_csv(out_dir / "curves.csv")
    half = {name: pd.Series({run: steps_to_half(rows) for run, rows in curves[curves["labels"] == name].groupby("run")})
            for name in LABEL_SETS}
    # Runs pair an initialisation with its random-label draw. A curve that never halves within the
    # run counts as halving at its last step: a lower bound on its steps (conservative for a slow
    # random-label curve; a true-label curve that never halves gives a ratio of at most 1).
    last_step = float(curves["step"].max())
    speed_ratio = half["random"].clip(upper=last_step) / half["true"].clip(upper=last_step)
    gaps = relative_gaps(curves)
    return [
        decide(out_dir.name, "true-faster", speed_ratio.to_list(), scale,
               details="steps to half the initial loss: " + "; ".join(
                   f"{name} {values.min():.4g}-{values.max():.4g}" for name, values in half.items())),
        decide(out_dir.name, "prediction-tracks", gaps.max(axis=1).to_list(), scale,
               details="mean gap / predicted fall per label set: " + ", ".join(
                   f"{name} {gaps[name].mean():.3f}" for name in gaps.columns)),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: runs x 3 label sets x steps x n min(n, d) m for GD (in the
    span of the inputs), plus n^3."""
    n, d = settings["n_train"], INPUT_DIMS[settings["dataset"]]
    return float(settings["runs"] * 3 * settings["steps"] * n * min(n, d) * settings["width"] + n**3)
