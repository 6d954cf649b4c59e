"""fig-convergence-*: ||y - u(k)||^2 for true, random and worst-case labels beside Theorem 4, and
the gap between them against the runs' spread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.analysis.convergence import deviations, relative_gaps
from ntk_study.plots.projections import LABELS, inputs_text
from ntk_study.plots.style import apply_style, save_figure


def step_rule(settings: dict[str, Any], curves: pd.DataFrame) -> str:
    """The GD step as configured, with its value and eta lambda_max (stable below 2)."""
    eta, lambda_max = curves["eta"].iloc[0], curves["lambda_max"].iloc[0]
    rule = (rf"$\eta$ = {settings['step_size_multiple']:g} / $\lambda_{{max}}(H^*)$"
            if settings.get("learning_rate") is None else r"$\eta$")
    return rf"{rule} = {eta:.3g} ($\eta\lambda_{{max}}$ = {eta * lambda_max:.2f})"


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    curves = pd.read_csv(out_dir / "curves.csv")
    apply_style()
    fig, (loss_ax, gap_ax) = plt.subplots(1, 2, figsize=(14, 4.8))
    gaps = deviations(curves)
    for name, (label, color) in LABELS.items():
        for run, rows in curves[curves["labels"] == name].groupby("run"):
            loss_ax.plot(rows["step"], rows["measured"], color=color, lw=1, alpha=0.8,
                         label=f"{label}: trained network" if run == 0 else None)
            loss_ax.plot(rows["step"], rows["predicted"], "--", color="k" if name == "true" else color, lw=1,
                         label=f"{label}: Theorem 4" if run == 0 else None)
        per_step = gaps.loc[name]
        gap_ax.plot(per_step.index, per_step["mean"], color=color, label=f"{label}: mean of runs")
        gap_ax.fill_between(per_step.index, per_step["mean"] - 2 * per_step["std"],
                            per_step["mean"] + 2 * per_step["std"], color=color, alpha=0.2)
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("GD iteration k")
    loss_ax.set_ylabel(r"$\|y - u(k)\|_2^2$")
    loss_ax.legend(fontsize=8)
    gap_ax.axhline(0, color="0.3", lw=0.8)
    gap_ax.set_xlabel("GD iteration k")
    gap_ax.set_ylabel(r"$(\|y - u(k)\| - $Theorem 4$) / \|y\|$")
    relative = relative_gaps(curves).mean()
    gap_ax.set_title("measured - Theorem 4; band: 2 sd over runs\nlargest gap / predicted fall (mean of runs): "
                     + ", ".join(f"{name} {value:.3f}" for name, value in relative.items()), fontsize=9)
    gap_ax.legend(fontsize=8)
    steps = curves["step"].max()
    fig.suptitle(f"{settings['dataset']} classes 0/1, n = {settings['n_train']}, {inputs_text(settings)}; two-layer "
                 f"ReLU net, m = {settings['width']}, first layer trained from a symmetric init (u(0) = 0), "
                 rf"$\kappa$ = {settings['init_scale']:g}" "\n"
                 rf"full-batch GD on $\frac{{1}}{{2}}\sum(u - y)^2$, {step_rule(settings, curves)}, {steps} steps "
                 rf"($\eta k$ = {curves['eta'].iloc[0] * steps:.3g}); {curves['run'].nunique()} runs per label set "
                 "(random labels: a new draw each)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    save_figure(fig, out_dir / "figure.png")
