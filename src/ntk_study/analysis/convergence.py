"""fig-convergence-*: speed of true vs random labels and Theorem 4's fit, from curves.csv.

One replicate is a run: an initialisation (the same seed at every width), with its own draw of the
random labels. "True labels converge faster" is the per-run ratio of the steps random and true
labels need to halve their loss, at the widest width. "The prediction tracks the loss" is
Theorem 4's wide limit: the gap between the measured and the predicted ||y - u(k)|| / ||y||, its
largest value over the steps divided by the predicted fall 1 - ||y - u(end)|| / ||y|| (a network
that never trained has a gap as large as the fall), must vanish as the width m grows, like the
m^(-1/2) by which H(0) and H(t) differ from H*: its log-log slope against m, per run, in every
label set. A fixed-width tolerance cannot say this: the gap and its spread over runs shrink
together. The same gap against the run's own H(0) (``predicted_initial``) is the part due to the
kernel moving in training; the rest is H(0)'s fluctuation around H*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide, decide_every
from ntk_study.data.two_class import INPUT_DIMS
from ntk_study.metrics import slopes_per_replicate

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


def steps_range_text(steps: pd.Series) -> str:
    """The runs' steps to half the loss as a range, "never" for runs that do not halve within the run."""
    finite = steps[np.isfinite(steps)]
    never = len(steps) - len(finite)
    if not len(finite):
        return "never within the run"
    text = f"{finite.min():.4g}-{finite.max():.4g}"
    return text + (f" ({never} runs never)" if never else "")


def widest(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves of the widest network."""
    return curves[curves["width"] == curves["width"].max()]


def relative_gaps(curves: pd.DataFrame, prediction: str = "predicted") -> pd.DataFrame:
    """Per width and run (rows) and label set (columns): max_k |measured - prediction| ||y - u(k)|| / ||y||
    divided by the predicted fall 1 - ||y - u(end)|| / ||y|| (both with the ``prediction`` column:
    Theorem 4 with H*, or ``predicted_initial`` with the run's own H(0))."""
    norm = curves.groupby(["labels", "width", "run"])[prediction].transform("first")  # ||y||^2 (u(0) = 0)
    table = curves.assign(gap=(np.sqrt(curves["measured"] / norm) - np.sqrt(curves[prediction] / norm)).abs(),
                          remaining=np.sqrt(curves[prediction] / norm))
    per_run = table.groupby(["labels", "width", "run"]).agg(gap=("gap", "max"), remaining=("remaining", "last"))
    ratio = (per_run["gap"] / (1 - per_run["remaining"])).unstack("labels")
    return ratio[[name for name in LABEL_SETS if name in ratio.columns]]


def gap_slopes(gaps: pd.DataFrame) -> pd.DataFrame:
    """Per run (rows) and label set (columns): the log-log slope of the relative gap against the
    width, from ``relative_gaps``."""
    return pd.DataFrame({name: slopes_per_replicate(gaps[name].reset_index(), "width", name, ["run"])
                         for name in gaps.columns})


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    curves = pd.read_csv(out_dir / "curves.csv")
    wide = widest(curves)
    half = {name: pd.Series({run: steps_to_half(rows) for run, rows in wide[wide["labels"] == name].groupby("run")})
            for name in LABEL_SETS}
    # Runs pair an initialisation with its random-label draw. A curve that never halves within the
    # run counts as halving at its last step: a lower bound on its steps (conservative for a slow
    # random-label curve; a true-label curve that never halves gives a ratio of at most 1).
    last_step = float(curves["step"].max())
    speed_ratio = half["random"].clip(upper=last_step) / half["true"].clip(upper=last_step)
    gaps, drift = relative_gaps(curves), relative_gaps(curves, "predicted_initial")
    largest = int(curves["width"].max())
    at_widest = gaps.xs(largest, level="width").mean()
    drift_at_widest = drift.xs(largest, level="width").mean()
    return [
        decide(out_dir.name, "true-faster", speed_ratio.to_list(), scale,
               details=f"m = {largest}; steps to half the initial loss: " + "; ".join(
                   f"{name} {steps_range_text(values)}" for name, values in half.items())),
        decide_every(out_dir.name, "prediction-tracks", gap_slopes(gaps).to_dict("list"), scale, noun="label set",
                     details=f"mean gap / predicted fall at m = {largest}, with H* (with the run's own H(0), the "
                     "kernel's drift alone): " + ", ".join(
                         f"{name} {at_widest[name]:.3f} ({drift_at_widest[name]:.3f})" for name in gaps.columns)),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: runs x (3 label sets x steps x n min(n, d) m for GD in the
    span of the inputs, plus n^2 m for H(0)), summed over the widths, plus n^3."""
    n, d = settings["n_train"], INPUT_DIMS[settings["dataset"]]
    widths = sum(settings["widths"])
    return float(settings["runs"] * (3 * settings["steps"] * n * min(n, d) + n * n) * widths + n**3)
