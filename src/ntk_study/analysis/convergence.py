"""fig-convergence-*: speed of true vs random labels and Theorem 4's fit, from curves.csv.

Both checks compare runs, so their thresholds are measured: "faster" must hold against every
run of the other label set, and Theorem 4 "tracks" a curve when its gap to the runs' mean is
within the runs' own spread (two standard deviations), a spread that must itself be smaller than
the curve's predicted fall (otherwise a network that never trained would pass).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check
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


def tracking(curves: pd.DataFrame) -> pd.DataFrame:
    """Per label set: ``gap``, the largest |mean deviation| over the steps; ``floor``, the largest
    two standard deviations over runs (the measured noise floor); ``fall``, the predicted fall
    1 - ||y - u(end)|| / ||y||."""
    per_step = deviations(curves).groupby("labels")
    table = pd.DataFrame({"gap": per_step["mean"].apply(lambda s: s.abs().max()),
                          "floor": per_step["std"].max() * 2,
                          "fall": 1 - per_step["remaining"].last()})
    return table.reindex([name for name in LABEL_SETS if name in table.index])


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    curves = pd.read_csv(out_dir / "curves.csv")
    half = {name: [steps_to_half(run) for _, run in curves[curves["labels"] == name].groupby("run")]
            for name in LABEL_SETS}
    slowest_true, fastest_random = max(half["true"]), min(half["random"])
    table = tracking(curves)
    fits = (table["gap"] <= table["floor"]) & (table["floor"] < table["fall"])
    runs = curves["run"].nunique()
    return [
        check(out_dir.name, "true-faster", fastest_random / slowest_true,
              threshold=(f"every true-label run reaches half its initial loss before every random-label run "
                         f"(fastest random / slowest true > 1; {runs} runs each)"),
              passed=slowest_true < fastest_random, scale=scale,
              measured_text=("steps to half the initial loss: "
                             + "; ".join(f"{name} {min(v):.4g}-{max(v):.4g}" for name, v in half.items())
                             + f"; fastest random / slowest true = {fastest_random / slowest_true:.3g}")),
        check(out_dir.name, "prediction-tracks", float((table["gap"] / table["floor"]).max()),
              threshold=(f"on every label set: max_k |mean of {runs} runs - Theorem 4| <= 2 sd over the runs "
                         "(max_k; measured noise floor), and that floor < the curve's predicted fall "
                         "(units of ||y||: ||y - u(k)|| / ||y||)"),
              passed=bool(fits.all()), scale=scale,
              measured_text="; ".join(f"{name}: gap {row.gap:.4f}, floor {row.floor:.4f}, fall {row.fall:.3f}"
                                      f"{'' if ok else ' (FAILS)'}"
                                      for (name, row), ok in zip(table.iterrows(), fits))),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: runs x 3 label sets x steps x n min(n, d) m for GD (in the
    span of the inputs), plus n^3."""
    n, d = settings["n_train"], INPUT_DIMS[settings["dataset"]]
    return float(settings["runs"] * 3 * settings["steps"] * n * min(n, d) * settings["width"] + n**3)
