"""fig-kernel-regression: metrics and claim checks from the prediction and kernel files (no JAX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.metrics import slopes_per_replicate

FIGURE_ID = "fig-kernel-regression"


def gaps(predictions: pd.DataFrame) -> pd.DataFrame:
    """RMS gap between network and NTK predictor over test points, per width, seed and step."""
    squared = predictions.assign(gap=(predictions["network"] - predictions["ntk"]) ** 2)
    table = squared.groupby(["width", "replicate", "step", "time"], as_index=False)["gap"].mean()
    table["gap"] = np.sqrt(table["gap"])
    return table


def relative_kernel_change_per_init(movement: pd.DataFrame) -> pd.Series:
    """||Theta_after - Theta_before|| / ||Theta_before|| over the angles, per width and init."""
    def change(group: pd.DataFrame) -> float:
        return float(np.linalg.norm(group["after"] - group["before"]) / np.linalg.norm(group["before"]))

    return movement.groupby(["width", "replicate"]).apply(change, include_groups=False)


def relative_kernel_change(movement: pd.DataFrame) -> pd.Series:
    """The relative kernel change per width, averaged over inits."""
    return relative_kernel_change_per_init(movement).groupby("width").mean()


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    predictions = pd.read_csv(out_dir / "predictions.csv")
    movement = pd.read_csv(out_dir / "kernel_movement.csv")
    table = gaps(predictions)
    final = table[table["step"] == table["step"].max()]
    last = final.groupby("width")["gap"].mean()
    per_init = relative_kernel_change_per_init(movement).unstack("width")
    narrow, wide = per_init.columns.min(), per_init.columns.max()
    return [
        decide(FIGURE_ID, "gap-shrinks", slopes_per_replicate(final, "width", "gap", ["replicate"]).to_list(), scale,
               details=(f"mean RMS gap {last.iloc[0]:.3g} at m={last.index[0]}, "
                        f"{last.iloc[-1]:.3g} at m={last.index[-1]}")),
        decide(FIGURE_ID, "wide-kernel-moves-less", (per_init[wide] / per_init[narrow]).to_list(), scale,
               details=(f"mean relative kernel change {per_init[narrow].mean():.3g} at m={narrow}, "
                        f"{per_init[wide].mean():.3g} at m={wide}")),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: two-layer GD (steps n m d) plus deep-net GD
    (steps n w^2 depth) and kernel evaluations (angles w^2 depth)."""
    eq, mv = settings["equivalence"], settings["kernel_movement"]
    two_layer = eq["seeds"] * sum(max(eq["steps"]) * eq["n_train"] * m * eq["input_dim"] for m in eq["widths"])
    deep = mv["seeds"] * sum((mv["steps"] * mv["n_train"] + 2 * mv["n_angles"]) * w**2 * mv["depth"]
                             for w in mv["widths"])
    return float(two_layer + deep)
