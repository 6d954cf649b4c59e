"""fig-phase-ntk-change: E[Delta Theta(x, x)] / E[Theta(x, x)] per phase and depth-to-width ratio,
and Theorem 7's claims, from changes.csv (no JAX needed).

The ratio of means R = mean(Delta) / mean(Theta) has the delta-method standard error
sd(Delta - R Theta) / (sqrt(N) mean(Theta)). Both changes are checked: the first-order change (the
theorem's quantity) and the exact change after the finite step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check

FIGURE_ID = "fig-phase-ntk-change"
CHANGES = {"first_order": "delta_first_order", "step": "delta_step"}
CHANGE_NAMES = {"first_order": "first-order change", "step": "exact change after the step"}


def ratio_of_means(delta: np.ndarray, theta: np.ndarray) -> tuple[float, float]:
    """mean(delta) / mean(theta) and its delta-method standard error."""
    delta, theta = np.asarray(delta, dtype=float), np.asarray(theta, dtype=float)
    ratio = delta.mean() / theta.mean()
    if len(delta) < 2:
        return float(ratio), float("nan")
    error = np.std(delta - ratio * theta, ddof=1) / (np.sqrt(len(delta)) * theta.mean())
    return float(ratio), float(error)


def summary(changes: pd.DataFrame) -> pd.DataFrame:
    """One row per (phase, depth ratio): means of Theta, the analytic NTK, both ratios with errors."""
    rows = []
    for (phase, ratio), group in changes.groupby(["phase", "depth_ratio"], sort=False):
        row = {"phase": phase, "sigma_w2": group["sigma_w2"].iloc[0], "depth_ratio": ratio,
               "depth": int(group["depth"].iloc[0]), "initialisations": len(group),
               "mean_theta": group["theta"].mean(), "theta_analytic": group["theta_analytic"].iloc[0]}
        for name, column in CHANGES.items():
            row[f"ratio_{name}"], row[f"error_{name}"] = ratio_of_means(group[column], group["theta"])
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["phase", "depth_ratio"], kind="stable").reset_index(drop=True)


def log_slope(ratios: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of ln|value| against the depth-to-width ratio."""
    slope, _ = np.polyfit(np.asarray(ratios, dtype=float), np.log(np.abs(np.asarray(values, dtype=float))), 1)
    return float(slope)


def _describe(rows: pd.DataFrame, name: str) -> str:
    first, last = rows.iloc[0], rows.iloc[-1]
    return (f"E[ΔΘ]/E[Θ] = {first[f'ratio_{name}']:.3g} ± {first[f'error_{name}']:.2g} at λ = "
            f"{first['depth_ratio']:g} (L = {first['depth']}), {last[f'ratio_{name}']:.3g} ± "
            f"{last[f'error_{name}']:.2g} at λ = {last['depth_ratio']:g} (L = {last['depth']})")


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    table = summary(pd.read_csv(out_dir / "changes.csv"))
    growth, fraction = settings["growth_factor"], settings["vanish_fraction"]
    results = []
    for name, suffix in (("first_order", ""), ("step", "-step")):
        chaotic = table[table["phase"] == "chaotic"]
        values = chaotic[f"ratio_{name}"].to_numpy()
        slope = log_slope(chaotic["depth_ratio"], values)
        factor = abs(values[-1]) / abs(values[0])
        results.append(check(
            FIGURE_ID, f"chaotic-grows{suffix}", factor,
            threshold=f"slope of ln|ratio| vs λ > 0 and |ratio| at the largest λ >= {growth:g} x at the smallest",
            passed=bool(slope > 0 and factor >= growth), scale=scale,
            measured_text=(f"{CHANGE_NAMES[name]}, σ_w² = {chaotic['sigma_w2'].iloc[0]:g}: {_describe(chaotic, name)}; "
                           f"x {factor:.3g}; slope {slope:.3g}")))
        ordered = table[table["phase"] == "ordered"]
        values = ordered[f"ratio_{name}"].to_numpy()
        factor = abs(values[-1]) / abs(values[0])
        results.append(check(
            FIGURE_ID, f"ordered-vanishes{suffix}", factor,
            threshold=f"|ratio| at the largest λ <= {fraction:g} x at the smallest",
            passed=bool(factor <= fraction), scale=scale,
            measured_text=(f"{CHANGE_NAMES[name]}, σ_w² = {ordered['sigma_w2'].iloc[0]:g}: {_describe(ordered, name)}; "
                           f"x {factor:.3g}")))
    return results


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: 3 phases x initialisations x sum over depths L of L M^2 (a few
    forward and backward passes per network)."""
    width = settings["width"]
    total_depth = sum(max(1, int(round(r * width))) for r in settings["depth_ratios"])
    return float(3 * settings["initialisations"] * total_depth * width**2)
