"""fig-kernel-regression: network vs NTK predictor, and the kernel before/after training (Jacot Fig. 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ntk_study.analysis.kernel_regression import gaps, relative_kernel_change
from ntk_study.metrics import loglog_slope
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    apply_style()
    plot_equivalence(pd.read_csv(out_dir / "predictions.csv"), out_dir / "figure.png")
    plot_kernel_movement(pd.read_csv(out_dir / "kernel_movement.csv"), out_dir / "kernel_movement.png")


def plot_equivalence(predictions: pd.DataFrame, output: Path) -> None:
    fig, (gap_ax, narrow_ax, wide_ax) = plt.subplots(1, 3, figsize=(16, 4.5))
    table = gaps(predictions).groupby(["step", "time", "width"], as_index=False)["gap"].mean()
    steps = sorted(table["step"].unique())
    palette = sns.color_palette("rocket_r", len(steps))
    for color, step in zip(palette, steps):
        rows = table[table["step"] == step]
        slope = loglog_slope(rows["width"], rows["gap"])
        gap_ax.plot(rows["width"], rows["gap"], "o-", color=color, label=f"k = {step} steps (slope {slope:.2f})")
    gap_ax.set_xscale("log", base=2)
    gap_ax.set_yscale("log")
    gap_ax.set_xlabel("width m")
    gap_ax.set_ylabel("RMS gap, network vs NTK predictor")
    gap_ax.legend(fontsize=8)
    last = predictions[(predictions["step"] == steps[-1]) & (predictions["replicate"] == 0)]
    for ax, width in [(narrow_ax, last["width"].min()), (wide_ax, last["width"].max())]:
        rows = last[last["width"] == width]
        ax.scatter(rows["ntk"], rows["network"], s=16, label="NTK predictor at the same time")
        ax.scatter(rows["kernel_regression"], rows["network"], s=16, marker="x",
                   label=r"kernel regression ($t \to \infty$)")
        low, high = rows[["ntk", "network"]].min().min(), rows[["ntk", "network"]].max().max()
        ax.plot([low, high], [low, high], ":", color="0.3")
        ax.set_xlabel("kernel prediction on a test point")
        ax.set_ylabel("trained network")
        ax.set_title(f"m = {width}, after {steps[-1]} steps")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, output)


def plot_kernel_movement(movement: pd.DataFrame, output: Path) -> None:
    widths = sorted(movement["width"].unique())
    changes = relative_kernel_change(movement)
    fig, axes = plt.subplots(1, len(widths), figsize=(6 * len(widths), 4.3), sharey=True)
    for ax, width in zip(np.atleast_1d(axes), widths):
        rows = movement[movement["width"] == width]
        for replicate, init in rows.groupby("replicate"):
            ax.plot(init["gamma"], init["before"], color="C0", lw=1, alpha=0.7,
                    label="at initialisation" if replicate == 0 else None)
            ax.plot(init["gamma"], init["after"], "--", color="C3", lw=1, alpha=0.7,
                    label=f"after {int(init['steps'].iloc[0])} GD steps" if replicate == 0 else None)
        limit = rows[rows["replicate"] == 0]
        ax.plot(limit["gamma"], limit["limit"], color="k", lw=2, label=r"limit $\Theta^\infty$")
        ax.set_xlabel(r"$\gamma$")
        ax.set_title(f"width {width}: mean relative change {changes[width]:.3f}")
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel(r"$\Theta(x_0, x(\gamma))$")
    fig.tight_layout()
    save_figure(fig, output)
