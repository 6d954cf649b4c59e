"""fig-ntk-init: metrics and claim checks from distances.csv (no JAX needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.metrics import loglog_slope, slopes_per_replicate

FIGURE_ID = "fig-ntk-init"
# One replicate: a draw of the input points and an initialisation, swept over the widths.
REPLICATE = ["activation", "input_set", "replicate"]
# sup |sigma'|^2 for the activations of kernels.two_layer (stax.Erf is erf(x): sigma' <= 2/sqrt(pi)).
DERIVATIVE_BOUND_SQUARED = {"relu": 1.0, "erf": 4.0 / np.pi}


def hoeffding_bound(n: int, width: int | np.ndarray, delta: float, activation: str) -> np.ndarray:
    """Lemma 2's bound on ||H(0) - H*||_2 holding with probability >= 1 - delta."""
    per_entry = DERIVATIVE_BOUND_SQUARED[activation] * np.sqrt(2 * np.log(2 * n**2 / delta) / np.asarray(width))
    return n * per_entry


def slopes(distances: pd.DataFrame) -> dict[str, float]:
    """Log-log slope of the mean spectral distance against width, per activation."""
    means = distances.groupby(["activation", "width"], as_index=False)["spectral_distance"].mean()
    return {
        activation: loglog_slope(group["width"], group["spectral_distance"])
        for activation, group in means.groupby("activation")
    }


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    distances = pd.read_csv(out_dir / "distances.csv")
    per_replicate = slopes_per_replicate(distances, "width", "spectral_distance", REPLICATE)
    slope_text = ", ".join(f"{act}: {value:.3f}" for act, value in slopes(distances).items())
    ratios = (distances.assign(ratio=distances["spectral_distance"] / distances["bound"])
              .groupby(REPLICATE)["ratio"].max())
    return [
        decide(FIGURE_ID, "slope", per_replicate.to_list(), scale,
               details=f"slope of the mean distance over replicates per activation: {slope_text}"),
        decide(FIGURE_ID, "below-bound", ratios.to_list(), scale,
               details=f"largest distance / bound of any run: {ratios.max():.3g} (delta = {settings['delta']:g})"),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: one empirical NTK costs n^2 m d (Jacobian contraction)."""
    n, d = settings["n_points"], settings["input_dim"]
    runs = settings["input_sets"] * settings["seeds"] * len(settings["activations"])
    return float(runs * sum(n**2 * m * d for m in settings["widths"]))
