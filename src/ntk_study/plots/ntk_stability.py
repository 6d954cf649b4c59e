"""fig-ntk-stability: loss per width, and weight, kernel and pattern movement vs width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ntk_study.analysis.ntk_stability import MOVEMENT_COLUMNS, movement_slopes
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    curves = pd.read_csv(out_dir / "loss_curves.csv")
    movement = pd.read_csv(out_dir / "movement.csv")
    apply_style()
    fig, grid = plt.subplots(2, 2, figsize=(11, 8.5))
    axes = grid.ravel()
    widths = sorted(curves["width"].unique())
    palette = dict(zip(widths, sns.color_palette("viridis", len(widths))))
    mean_curves = curves.groupby(["width", "epoch"], as_index=False)["loss"].mean()
    for width, rows in mean_curves.groupby("width"):
        axes[0].plot(rows["epoch"], rows["loss"] / rows["loss"].iloc[0], color=palette[width], label=f"m = {width}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss / initial loss")
    axes[0].legend(fontsize=8)
    slopes = movement_slopes(movement)
    means = movement.groupby("width", as_index=False).mean(numeric_only=True)
    for ax, (column, (_, label)) in zip(axes[1:], MOVEMENT_COLUMNS.items()):
        ax.scatter(movement["width"], movement[column], s=12, alpha=0.4, color="C0")
        ax.plot(means["width"], means[column], "o-", color="C1", label=f"mean (slope {slopes[column]:.2f})")
        reference = means[column].iloc[0] * np.sqrt(means["width"].iloc[0] / means["width"])
        ax.plot(means["width"], reference, ":", color="0.3", label=r"$\propto m^{-1/2}$")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width m")
        ax.set_title(label, fontsize=11)
        ax.legend(fontsize=8)
    fig.suptitle(f"n = {settings['n_points']} points on the sphere in d = {settings['input_dim']}, "
                 f"{settings['epochs']} epochs of GD", y=1.02)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
