"""fig-ntk-stability: metrics and claim checks from movement.csv (no JAX needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.metrics import loglog_slope, slopes_per_replicate

FIGURE_ID = "fig-ntk-stability"
MOVEMENT_COLUMNS = {
    "max_weight_change": ("weight-slope", r"$\max_r \|w_r(t) - w_r(0)\|_2$"),
    "kernel_change": ("kernel-slope", r"$\|H(t) - H(0)\|_2$"),
    "pattern_change_fraction": ("pattern-slope", "fraction of changed activation patterns"),
}


def movement_slopes(movement: pd.DataFrame) -> dict[str, float]:
    means = movement.groupby("width", as_index=False).mean(numeric_only=True)
    return {column: loglog_slope(means["width"], means[column]) for column in MOVEMENT_COLUMNS}


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    movement = pd.read_csv(out_dir / "movement.csv")
    rows = [
        decide(FIGURE_ID, key, slopes_per_replicate(movement, "width", column, ["replicate"]).to_list(), scale,
               details=f"slope of the mean over replicates: {slope:.3f}")
        for (column, (key, _)), slope in zip(MOVEMENT_COLUMNS.items(), movement_slopes(movement).values())
    ]
    final = movement.pivot(index="replicate", columns="width", values="final_loss")
    narrowest = final.columns.min()
    ratios = final.drop(columns=narrowest).div(final[narrowest], axis=0).max(axis=1)
    rows.append(decide(
        FIGURE_ID, "wider-no-slower", ratios.to_list(), scale,
        details="mean final loss: " + ", ".join(f"m={m}: {v:.2g}" for m, v in final.mean().items()),
    ))
    return rows


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: GD epochs (n m d each) plus two empirical NTKs (n^2 m d)."""
    n, d = settings["n_points"], settings["input_dim"]
    return float(settings["seeds"] * sum(settings["epochs"] * n * m * d + 2 * n**2 * m * d for m in settings["widths"]))
