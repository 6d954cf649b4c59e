"""fig-generalization-bound: the bound sqrt(2 y^T H*^-1 y / n), the test errors and 1 on one
logarithmic axis per dataset (mean +- sd over label draws), so a vacuous bound (> 1) shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.plots.convergence import step_rule
from ntk_study.plots.projections import inputs_text
from ntk_study.plots.style import apply_style, save_figure

SERIES = [("complexity", r"bound $\sqrt{2 y^\top H^{*-1} y / n}$", "o-", "C0"),
          ("network_test_error", "trained network: test error", "s-", "C3"),
          ("kernel_test_error", r"kernel predictor $k(x, X) H^{*-1} y$: test error", "^--", "C2")]


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = pd.read_csv(out_dir / "bound.csv")
    apply_style()
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.8), squeeze=False)
    floor = 0.5 / settings["n_test"]  # a test error of 0 is drawn here, below the resolution 1 / n_test
    for ax, dataset in zip(axes[0], datasets):
        rows = table[table["dataset"] == dataset]
        for column, label, style, color in SERIES:
            stats = rows.groupby("noise")[column].agg(["mean", "std"])
            shown = stats["mean"].clip(lower=floor)
            low = (shown - (stats["mean"] - stats["std"]).clip(lower=floor)).clip(lower=0)
            ax.errorbar(stats.index, shown, yerr=[low, stats["std"]], fmt=style, color=color, capsize=3,
                        label=label)
        ax.axhline(1.0, color="k", lw=1)
        ax.text(0.0, 1.05, "1: the bound is vacuous above this line", fontsize=8, va="bottom")
        ax.axhline(floor, color="0.6", lw=0.8, ls=":")
        ax.text(1.0, floor * 1.1, "test error 0 (drawn at 1 / (2 n_test))", fontsize=7, va="bottom", ha="right",
                color="0.4")
        ax.set_yscale("log")
        ax.set_xlabel("label noise p (fraction of labels replaced by random ones)")
        ax.set_ylabel("bound / test error (log scale)")
        ax.set_title(f"{dataset} classes 0/1, n = {int(rows['n_train'].iloc[0])}, {step_rule(settings, rows)}",
                     fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, -0.02))
    draws = table["draw"].nunique()
    fig.suptitle(f"{inputs_text(settings)}; two-layer ReLU net, m = {settings['width']}, first layer trained from a "
                 rf"symmetric init (u(0) = 0, $\kappa$ = {settings['init_scale']:g}) by full-batch GD on "
                 rf"$\frac{{1}}{{2}}\sum(u - y)^2$" "\n"
                 f"until it is <= {settings['target_loss_fraction']:g} x its initial value (at most "
                 f"{settings['max_steps']} steps); {settings['n_test']} clean test images; mean +- sd over {draws} "
                 "label draws per p", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.93))
    save_figure(fig, out_dir / "figure.png")
