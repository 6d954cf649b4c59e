"""fig-aux-is-ridge: distance of AUX- and RDI-trained networks to kernel ridge regression vs width,
and the test outputs of a narrow and a wide network against the ridge predictor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.aux_ridge import distances, mean_distances, slopes
from ntk_study.plots.style import apply_style, save_figure

STYLE = {"AUX": {"color": "C0", "marker": "o"}, "RDI": {"color": "C3", "marker": "s"}}


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    predictions = pd.read_csv(out_dir / "predictions.csv")
    runs = pd.read_csv(out_dir / "runs.csv")
    apply_style()
    fig, (gap_ax, narrow_ax, wide_ax) = plt.subplots(1, 3, figsize=(16, 4.6))
    per_run, means, fitted = distances(predictions), mean_distances(predictions), slopes(predictions)
    for method, rows in means.groupby("method"):
        style = STYLE.get(method, {})
        seeds = per_run[per_run["method"] == method]
        gap_ax.scatter(seeds["width"], seeds["distance"], s=12, alpha=0.35, color=style.get("color"))
        gap_ax.plot(rows["width"], rows["distance"], "-", marker=style.get("marker"), color=style.get("color"),
                    label=f"{method} (slope {fitted[method]:.2f})")
    first = means[means["width"] == means["width"].min()]["distance"].mean()
    widths = np.sort(means["width"].unique())
    gap_ax.plot(widths, first * np.sqrt(widths[0] / widths), ":", color="0.3", label=r"$\propto m^{-1/2}$")
    gap_ax.axhline(runs["ridge_vs_kernel_regression"].iloc[0], ls="--", color="0.5",
                   label=r"ridge vs kernel regression ($\lambda = 0$)")
    gap_ax.set_xscale("log", base=2)
    gap_ax.set_yscale("log")
    gap_ax.set_xlabel("width m")
    gap_ax.set_ylabel("RMS distance to the ridge predictor (test)")
    gap_ax.set_title(f"n = {int(runs['n_train'].iloc[0])}, noise p = {runs['label_noise'].iloc[0]:g}, "
                     rf"$\lambda$ = {runs['lambda'].iloc[0]:.3g}, {int(runs['steps'].iloc[0])} GD steps",
                     fontsize=10)
    gap_ax.legend(fontsize=8)
    first_seed = predictions[predictions["replicate"] == predictions["replicate"].min()]
    for ax, width in [(narrow_ax, widths[0]), (wide_ax, widths[-1])]:
        rows = first_seed[first_seed["width"] == width]
        for method, points in rows.groupby("method"):
            style = STYLE.get(method, {})
            ax.scatter(points["ridge"], points["network"], s=14, alpha=0.7, color=style.get("color"),
                       marker=style.get("marker"), label=method)
        low, high = rows[["ridge", "network"]].min().min(), rows[["ridge", "network"]].max().max()
        ax.plot([low, high], [low, high], ":", color="0.3")
        ax.set_xlabel(r"ridge predictor $k(x, X)(H^* + \lambda I)^{-1}\tilde y$")
        ax.set_ylabel("trained network f(x)")
        ax.set_title(f"m = {width}, one initialisation, test points")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
