"""fig-ntk-init: ||H(0) - H*||_2 vs width, per seed, with the fitted slope and Lemma 2's bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.ntk_init import slopes
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    distances = pd.read_csv(out_dir / "distances.csv")
    delta = settings["delta"]
    apply_style()
    activations = list(dict.fromkeys(distances["activation"]))
    fitted = slopes(distances)
    fig, axes = plt.subplots(1, len(activations), figsize=(5.5 * len(activations), 4.2), squeeze=False)
    for ax, activation in zip(axes[0], activations):
        runs = distances[distances["activation"] == activation]
        means = runs.groupby("width", as_index=False)[["spectral_distance", "bound"]].mean()
        ax.scatter(runs["width"], runs["spectral_distance"], s=10, alpha=0.3, color="C0",
                   label="one initialisation")
        for input_set, per_set in runs.groupby("input_set"):
            set_means = per_set.groupby("width", as_index=False)["spectral_distance"].mean()
            ax.plot(set_means["width"], set_means["spectral_distance"], "-", lw=0.8, alpha=0.6, color="C0",
                    label="mean per input set" if input_set == 0 else None)
        ax.plot(means["width"], means["spectral_distance"], "o-", color="C1", label="mean over all")
        reference = means["spectral_distance"].iloc[0] * np.sqrt(means["width"].iloc[0] / means["width"])
        ax.plot(means["width"], reference, ":", color="0.3", label=r"$\propto m^{-1/2}$")
        ax.plot(means["width"], means["bound"], "--", color="C3",
                label=rf"Lemma 2 bound ($\delta$ = {delta:g})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width m")
        ax.set_ylabel(r"$\|H(0) - H^*\|_2$")
        n = int(runs["n_points"].iloc[0])
        ax.set_title(f"{activation}, n = {n} points on the sphere: slope {fitted[activation]:.2f}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.08), frameon=False)
    save_figure(fig, out_dir / "figure.png")
