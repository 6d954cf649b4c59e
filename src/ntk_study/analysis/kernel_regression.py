"""fig-kernel-regression: metrics and claim checks from the prediction and kernel files (no JAX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check
from ntk_study.metrics import loglog_slope

FIGURE_ID = "fig-kernel-regression"


def gaps(predictions: pd.DataFrame) -> pd.DataFrame:
    """RMS gap between network and NTK predictor over test points, per width, seed and step."""
    squared = predictions.assign(gap=(predictions["network"] - predictions["ntk"]) ** 2)
    table = squared.groupby(["width", "replicate", "step", "time"], as_index=False)["gap"].mean()
    table["gap"] = np.sqrt(table["gap"])
    return table


def relative_kernel_change(movement: pd.DataFrame) -> pd.Series:
    """||Theta_after - Theta_before|| / ||Theta_before|| over the angles, averaged over inits."""
    def change(group: pd.DataFrame) -> float:
        return float(np.linalg.norm(group["after"] - group["before"]) / np.linalg.norm(group["before"]))

    per_init = movement.groupby(["width", "replicate"]).apply(change, include_groups=False)
    return per_init.groupby("width").mean()


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    predictions = pd.read_csv(out_dir / "predictions.csv")
    movement = pd.read_csv(out_dir / "kernel_movement.csv")
    table = gaps(predictions)
    last = table[table["step"] == table["step"].max()].groupby("width")["gap"].mean()
    slope = loglog_slope(last.index.to_numpy(), last.to_numpy())
    tolerance = settings["equivalence"]["slope_tolerance"]
    changes = relative_kernel_change(movement)
    narrow, wide = changes.index.min(), changes.index.max()
    return [
        check(FIGURE_ID, "gap-shrinks", slope, threshold=f"|slope + 0.5| <= {tolerance}",
              passed=abs(slope + 0.5) <= tolerance, scale=scale,
              measured_text=(f"slope {slope:.3f}; RMS gap {last.iloc[0]:.3g} at m={last.index[0]}, "
                             f"{last.iloc[-1]:.3g} at m={last.index[-1]}")),
        check(FIGURE_ID, "wide-kernel-moves-less", changes[wide] / changes[narrow],
              threshold="relative change of the wide kernel < the narrow kernel's",
              passed=bool(changes[wide] < changes[narrow]), scale=scale,
              measured_text=(f"relative kernel change {changes[narrow]:.3g} at m={narrow}, "
                             f"{changes[wide]:.3g} at m={wide}")),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: two-layer GD (steps n m d) plus deep-net GD
    (steps n w^2 depth) and kernel evaluations (angles w^2 depth)."""
    eq, mv = settings["equivalence"], settings["kernel_movement"]
    two_layer = eq["seeds"] * sum(max(eq["steps"]) * eq["n_train"] * m * eq["input_dim"] for m in eq["widths"])
    deep = mv["seeds"] * sum((mv["steps"] * mv["n_train"] + 2 * mv["n_angles"]) * w**2 * mv["depth"]
                             for w in mv["widths"])
    return float(two_layer + deep)
