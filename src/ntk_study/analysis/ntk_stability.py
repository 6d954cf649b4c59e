"""fig-ntk-stability: metrics and claim checks from movement.csv (no JAX needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimResult, check
from ntk_study.metrics import loglog_slope

FIGURE_ID = "fig-ntk-stability"
MOVEMENT_COLUMNS = {
    "max_weight_change": ("weight-slope", r"$\max_r \|w_r(t) - w_r(0)\|_2$"),
    "kernel_change": ("kernel-slope", r"$\|H(t) - H(0)\|_2$"),
    "pattern_change_fraction": ("pattern-slope", "fraction of changed activation patterns"),
}


def movement_slopes(movement: pd.DataFrame) -> dict[str, float]:
    means = movement.groupby("width", as_index=False).mean(numeric_only=True)
    return {column: loglog_slope(means["width"], means[column]) for column in MOVEMENT_COLUMNS}


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    movement = pd.read_csv(out_dir / "movement.csv")
    tolerance = settings["slope_tolerance"]
    rows = [
        check(FIGURE_ID, key, slope, threshold=f"|slope + 0.5| <= {tolerance}",
              passed=abs(slope + 0.5) <= tolerance, scale=scale, measured_text=f"slope {slope:.3f}")
        for (key, _), slope in zip(MOVEMENT_COLUMNS.values(), movement_slopes(movement).values())
    ]
    final = movement.groupby("width")["final_loss"].mean()
    narrowest = final.iloc[0]
    ratio = float((final.iloc[1:] / narrowest).max())
    slack = settings["convergence_slack"]
    rows.append(check(
        FIGURE_ID, "wider-no-slower", ratio,
        threshold=f"every wider net's final loss <= {1 + slack:g} x the narrowest's",
        passed=ratio <= 1 + slack, scale=scale,
        measured_text=(f"worst wider/narrowest final-loss ratio {ratio:.3g} (final loss "
                       + ", ".join(f"m={m}: {v:.2g}" for m, v in final.items()) + ")"),
    ))
    return rows


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: GD epochs (n m d each) plus two empirical NTKs (n^2 m d)."""
    n, d = settings["n_points"], settings["input_dim"]
    return float(settings["seeds"] * sum(settings["epochs"] * n * m * d + 2 * n**2 * m * d for m in settings["widths"]))
