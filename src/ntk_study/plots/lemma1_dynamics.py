"""fig-lemma1-dynamics: measured vs predicted output changes, and the relative error vs step size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.lemma1_dynamics import mean_errors
from ntk_study.metrics import loglog_slope
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    errors = pd.read_csv(out_dir / "errors.csv")
    pairs = pd.read_csv(out_dir / "output_changes.csv")
    apply_style()
    fig, (scatter_ax, error_ax) = plt.subplots(1, 2, figsize=(11, 4.4))
    multiples = sorted(pairs["step_size_multiple"].unique())
    for multiple, color in [(multiples[0], "C0"), (multiples[-1], "C3")]:
        chosen = pairs[pairs["step_size_multiple"] == multiple]
        scale = np.abs(chosen["predicted"]).max()
        scatter_ax.scatter(chosen["predicted"] / scale, chosen["measured"] / scale, s=18, color=color,
                           alpha=0.7, label=rf"$\eta$ = {multiple:g}/$\lambda_{{max}}$")
    scatter_ax.plot([-1, 1], [-1, 1], ":", color="0.3", label="measured = predicted")
    scatter_ax.set_xlabel(r"predicted $-\eta H(k)(u(k) - y)$ (scaled)")
    scatter_ax.set_ylabel(r"measured $u(k+1) - u(k)$ (scaled)")
    scatter_ax.set_title("first GD step, each training point")
    scatter_ax.legend(fontsize=9)

    per_seed = errors.groupby(["replicate", "step_size_multiple"], as_index=False)["relative_error"].mean()
    for _, seed_rows in per_seed.groupby("replicate"):
        error_ax.plot(seed_rows["step_size_multiple"], seed_rows["relative_error"], "-", color="C0", alpha=0.3, lw=1)
    means = mean_errors(errors)
    slope = loglog_slope(means["step_size_multiple"], means["relative_error"])
    error_ax.plot(means["step_size_multiple"], means["relative_error"], "o-", color="C1",
                  label=f"mean over steps and seeds (slope {slope:.2f})")
    reference = means["relative_error"].iloc[-1] * means["step_size_multiple"] / means["step_size_multiple"].iloc[-1]
    error_ax.plot(means["step_size_multiple"], reference, ":", color="0.3", label=r"$\propto \eta$")
    error_ax.set_xscale("log")
    error_ax.set_yscale("log")
    error_ax.set_xlabel(r"step size $\eta \cdot \lambda_{max}(H^*)$")
    error_ax.set_ylabel("relative error of the prediction")
    error_ax.set_title(f"m = {settings['width']}, n = {settings['n_points']}, {settings['steps']} steps")
    error_ax.legend(fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
