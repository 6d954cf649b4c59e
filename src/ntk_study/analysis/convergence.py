"""fig-convergence-*: speed of true vs random labels and Theorem 4's fit, from curves.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check
from ntk_study.data.two_class import INPUT_DIMS


def steps_to_half(curve: pd.DataFrame, column: str = "measured") -> float:
    """First recorded step at which ||y - u||^2 is at most half its initial value (inf if never)."""
    values = curve[column].to_numpy()
    below = np.flatnonzero(values <= values[0] / 2)
    return float(curve["step"].iloc[below[0]]) if len(below) else float("inf")


def final_fraction(curve: pd.DataFrame) -> float:
    """||y - u||^2 at the last recorded step over its initial value."""
    return float(curve["measured"].iloc[-1] / curve["measured"].iloc[0])


def prediction_error(curves: pd.DataFrame) -> float:
    """Largest |log10(measured / predicted)| over labels and recorded steps."""
    return float(np.abs(np.log10(curves["measured"] / curves["predicted"])).max())


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    curves = pd.read_csv(out_dir / "curves.csv")
    half = {name: steps_to_half(curve) for name, curve in curves.groupby("labels")}
    remaining = {name: final_fraction(curve) for name, curve in curves.groupby("labels")}
    # Faster: fewer steps to half the initial loss; where neither label set gets there within
    # the run, less of the initial loss left at its end.
    if half["true"] == half["random"]:
        faster = remaining["true"] < remaining["random"]
    else:
        faster = half["true"] < half["random"]
    tolerance = settings["prediction_tolerance_decades"]
    error = prediction_error(curves)
    return [
        check(out_dir.name, "true-faster", half["true"],
              threshold="steps to half the initial loss: true < random (if tied, loss left at the end)",
              passed=faster, scale=scale,
              measured_text=("steps to half the initial loss: "
                             + ", ".join(f"{name} {value:g}" for name, value in half.items())
                             + "; loss left at the end: "
                             + ", ".join(f"{name} {value:.0%}" for name, value in remaining.items()))),
        check(out_dir.name, "prediction-tracks", error,
              threshold=f"max |log10(measured / predicted)| <= {tolerance:g}",
              passed=error <= tolerance, scale=scale,
              measured_text=f"max |log10(measured / predicted)| = {error:.3f} over {len(curves)} points"),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: 3 label sets x steps x n m d for GD, plus n^3."""
    n, d = settings["n_train"], INPUT_DIMS[settings["dataset"]]
    return float(3 * settings["steps"] * n * settings["width"] * d + n**3)
