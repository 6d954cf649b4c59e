"""fig-convergence-*: ||y - u(k)||^2 for true, random and worst-case labels beside Theorem 4 at the
widest width, the gap between them against the runs' spread, and the gap against the width (to
Theorem 4 with H*, and to the prediction from each run's own H(0))."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.analysis.convergence import deviations, relative_gaps, widest
from ntk_study.plots.projections import LABELS, inputs_text
from ntk_study.plots.style import apply_style, save_figure


def step_rule(settings: dict[str, Any], curves: pd.DataFrame) -> str:
    """The GD step as configured, with its value and eta lambda_max (stable below 2)."""
    eta, lambda_max = curves["eta"].iloc[0], curves["lambda_max"].iloc[0]
    rule = (rf"$\eta$ = {settings['step_size_multiple']:g} / $\lambda_{{max}}(H^*)$"
            if settings.get("learning_rate") is None else r"$\eta$")
    return rf"{rule} = {eta:.3g} ($\eta\lambda_{{max}}$ = {eta * lambda_max:.2f})"


def plot_gap_against_width(ax: plt.Axes, gaps: pd.DataFrame, title: str) -> None:
    """Relative gap per run (points) and its mean (line) against the width, log-log, beside m^(-1/2)."""
    for name, (label, color) in LABELS.items():
        table = gaps[name].reset_index()
        ax.scatter(table["width"], table[name], color=color, s=12, alpha=0.6)
        means = table.groupby("width")[name].mean()
        ax.plot(means.index, means.to_numpy(), color=color, marker="o", label=label)
    widths = gaps.index.get_level_values("width").unique().sort_values()
    anchor = gaps.xs(widths[0], level="width").mean().max()
    ax.plot(widths, anchor * (widths / widths[0]) ** -0.5, ":", color="k", label=r"$\propto m^{-1/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("largest gap / predicted fall")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    curves = pd.read_csv(out_dir / "curves.csv")
    wide = widest(curves)
    width = int(wide["width"].iloc[0])
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    (loss_ax, gap_ax), (theorem_ax, drift_ax) = axes
    gaps = deviations(wide)
    first = wide["run"].min()  # label one run per label set
    for name, (label, color) in LABELS.items():
        for run, rows in wide[wide["labels"] == name].groupby("run"):
            loss_ax.plot(rows["step"], rows["measured"], color=color, lw=1, alpha=0.8,
                         label=f"{label}: trained network" if run == first else None)
            loss_ax.plot(rows["step"], rows["predicted"], "--", color="k" if name == "true" else color, lw=1,
                         label=f"{label}: Theorem 4" if run == first else None)
        per_step = gaps.loc[name]
        gap_ax.plot(per_step.index, per_step["mean"], color=color, label=f"{label}: mean of runs")
        gap_ax.fill_between(per_step.index, per_step["mean"] - 2 * per_step["std"],
                            per_step["mean"] + 2 * per_step["std"], color=color, alpha=0.2)
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("GD iteration k")
    loss_ax.set_ylabel(r"$\|y - u(k)\|_2^2$")
    loss_ax.set_title(f"(a) loss at m = {width}: every run, beside Theorem 4", fontsize=10)
    loss_ax.legend(fontsize=8)
    gap_ax.axhline(0, color="0.3", lw=0.8)
    gap_ax.set_xlabel("GD iteration k")
    gap_ax.set_ylabel(r"$(\|y - u(k)\| - $Theorem 4$) / \|y\|$")
    gap_ax.set_title(f"(b) measured - Theorem 4 at m = {width}; band: 2 sd over runs", fontsize=10)
    gap_ax.legend(fontsize=8)
    plot_gap_against_width(theorem_ax, relative_gaps(curves),
                           "(c) gap to Theorem 4 with $H^*$ (the claim): points are runs")
    plot_gap_against_width(drift_ax, relative_gaps(curves, "predicted_initial"),
                           "(d) gap to the prediction from the run's own $H(0)$:\nthe kernel's drift in training alone")
    steps = curves["step"].max()
    fig.suptitle(f"{settings['dataset']} classes 0/1, n = {settings['n_train']}, {inputs_text(settings)}; two-layer "
                 "ReLU net, first layer trained from a symmetric init (u(0) = 0), "
                 rf"$\kappa$ = {settings['init_scale']:g}" "\n"
                 rf"full-batch GD on $\frac{{1}}{{2}}\sum(u - y)^2$, {step_rule(settings, curves)}, {steps} steps "
                 rf"($\eta k$ = {curves['eta'].iloc[0] * steps:.3g}); {curves['run'].nunique()} runs per label set "
                 "and width (random labels: a new draw each)", fontsize=10)
    fig.tight_layout()  # leaves room for the suptitle
    save_figure(fig, out_dir / "figure.png")
