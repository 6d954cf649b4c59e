"""fig-phase-ntk-change: E[Delta Theta(x, x)] / E[Theta(x, x)] per phase and depth-to-width ratio,
and Theorem 7's claims, from changes.csv (no JAX needed).

The ratio of means R = mean(Delta) / mean(Theta) has the delta-method standard error
sd(Delta - R Theta) / (sqrt(N) mean(Theta)). Both changes are checked: the first-order change (the
theorem's quantity) and the exact change after the finite step. The claims compare R at the largest
and the smallest depth ratio, signed (``change_factor``); the initialisations are the replicates.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ntk_study.claims import ClaimRow, Evidence, decide_from
from ntk_study.claims.verdict import CONFIDENCE

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


def change_factor(changes: pd.DataFrame, column: str) -> tuple[Evidence, pd.DataFrame]:
    """G = R(lambda_max) / R(lambda_min) for one phase, R = mean(Delta) / mean(Theta) over the
    initialisations at lambda (signed: a change of sign gives G < 0), with Fieller's interval.

    The initialisations at the two depths are independent draws; with a = R(lambda_max), b =
    R(lambda_min) and their standard errors s_a, s_b, Fieller's interval is the set of G with
    (a - G b)^2 <= t^2 (s_a^2 + G^2 s_b^2), t at N - 1 degrees of freedom (N: the fewer
    initialisations of the two depths). It is unbounded when b is not distinguishable from 0
    (|b| <= t s_b): a ratio to a change that may be 0 is then undecided, as it should be (the
    delta method would give a finite, misleading interval). The spread that sizes "replicates to
    decide" is the delta-method standard error of G times sqrt(N). Also returns R and its error per lambda."""
    per_ratio = []
    for ratio, group in changes.groupby("depth_ratio"):
        value, error = ratio_of_means(group[column], group["theta"])
        per_ratio.append({"depth_ratio": ratio, "depth": int(group["depth"].iloc[0]), "ratio": value,
                          "error": error, "initialisations": len(group)})
    table = pd.DataFrame(per_ratio).sort_values("depth_ratio").reset_index(drop=True)
    a, s_a = float(table["ratio"].iloc[-1]), float(table["error"].iloc[-1])
    b, s_b = float(table["ratio"].iloc[0]), float(table["error"].iloc[0])
    n = int(min(table["initialisations"].iloc[0], table["initialisations"].iloc[-1]))
    if b == 0:
        return Evidence(math.nan, -math.inf, math.inf, n, math.nan), table
    factor = a / b
    if n < 2:
        return Evidence(factor, math.nan, math.nan, n, math.nan), table
    spread = math.sqrt(n * (s_a**2 + factor**2 * s_b**2)) / abs(b)
    t = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1))
    curvature = b**2 - t**2 * s_b**2
    if curvature <= 0:
        return Evidence(factor, -math.inf, math.inf, n, spread), table
    half_width = t * math.sqrt(a**2 * s_b**2 + curvature * s_a**2)
    return Evidence(factor, (a * b - half_width) / curvature, (a * b + half_width) / curvature, n, spread), table


def _describe(table: pd.DataFrame, factor: Evidence, name: str, sigma_w2: float) -> str:
    values = ", ".join(f"{row.ratio:+.2g}" for row in table.itertuples())
    return (f"{CHANGE_NAMES[name]}, σ_w² = {sigma_w2:g}: E[ΔΘ]/E[Θ] = {values} at λ = "
            f"{', '.join(f'{r:g}' for r in table['depth_ratio'])} (L = {table['depth'].iloc[0]} to "
            f"{table['depth'].iloc[-1]}); last / first {factor.estimate:+.3g}; "
            f"{factor.replicates} initialisations per λ, Fieller interval")


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    """Replicates: the initialisations at each depth (independent draws per depth)."""
    changes = pd.read_csv(out_dir / "changes.csv")
    rows = []
    for name, suffix in (("first_order", ""), ("step", "-step")):  # the catalogue's order
        for phase, key in (("chaotic", "chaotic-grows"), ("ordered", "ordered-vanishes")):
            group = changes[changes["phase"] == phase]
            factor, table = change_factor(group, CHANGES[name])
            rows.append(decide_from(FIGURE_ID, key + suffix, factor, scale,
                                    details=_describe(table, factor, name, group["sigma_w2"].iloc[0])))
    return rows


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: 3 phases x initialisations x sum over depths L of L M^2 (a few
    forward and backward passes per network)."""
    width = settings["width"]
    total_depth = sum(max(1, int(round(r * width))) for r in settings["depth_ratios"])
    return float(3 * settings["initialisations"] * total_depth * width**2)
