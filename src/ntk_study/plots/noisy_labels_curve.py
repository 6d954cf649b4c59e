"""fig-noisy-labels-curve: test accuracy and fit of the noisy training labels against epoch, with
the replicates' band and the epochs a clean validation set stops the normal runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ntk_study.analysis.noisy_labels import LABELS, REGULARISED, per_run, read_histories
from ntk_study.plots.style import apply_style, save_figure

# One colour per method; normal training dashed.
STYLES = {"ce": ("C0", "--"), "mse": ("C1", "--"), "ce_aux": ("C2", "-"), "mse_aux": ("C3", "-"),
          "mse_rdi": ("C4", "-")}


def method_label(method: str, rows) -> str:
    """The method's name, with its chosen lambda for AUX / RDI (lambda = 0 is normal training)."""
    if method in REGULARISED:
        relative = rows["lambda_relative"].iloc[0]
        return f"{LABELS[method]} (λ = {relative:g}{': normal training' if relative == 0 else ''})"
    return LABELS[method]


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    histories = read_histories(out_dir)
    at_noise = histories[np.isclose(histories["noise"], settings["noise"])]
    stops = per_run(at_noise)
    replicates = at_noise["replicate"].nunique()
    apply_style()
    fig, (test_ax, train_ax) = plt.subplots(1, 2, figsize=(12, 4.8))
    for method, (color, line) in STYLES.items():
        rows = at_noise[at_noise["method"] == method]
        if rows.empty:
            continue
        for ax, column in ((test_ax, "test_accuracy"), (train_ax, "train_accuracy")):
            by_epoch = rows.groupby("epoch")[column]
            mean = by_epoch.mean()
            ax.plot(mean.index, mean.values, color=color, ls=line, label=method_label(method, rows))
            ax.fill_between(mean.index, by_epoch.min().values, by_epoch.max().values, color=color, alpha=0.15)
        if method in ("ce", "mse"):  # early-stopping epochs chosen on the clean validation set
            chosen = stops[stops["method"] == method]
            test_ax.scatter(chosen["clean_stop_epoch"], chosen["clean_stop"], color=color, marker="v", s=36,
                            zorder=3)
    test_ax.set_xlabel("epoch")
    test_ax.set_ylabel("clean test accuracy (%)")
    test_ax.set_title(f"p = {settings['noise']:g}: mean and range over {replicates} replicates\n"
                      "(v: epoch a clean validation set stops each normal run)", fontsize=10)
    test_ax.legend(fontsize=8)
    train_ax.set_xlabel("epoch")
    train_ax.set_ylabel("accuracy on the noisy training labels (%)")
    train_ax.set_title("fit of the noisy training labels\n(above the dotted line: wrong labels memorised)", fontsize=10)
    train_ax.axhline(100 * (1 - settings["noise"]), color="k", lw=0.8, ls=":",
                     label=f"{100 * (1 - settings['noise']):.0f}%: the correctly labelled share")
    train_ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
