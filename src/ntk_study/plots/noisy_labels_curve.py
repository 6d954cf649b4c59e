"""fig-noisy-labels-curve: test accuracy and fit of the noisy training labels against epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ntk_study.analysis.noisy_labels import LABELS, per_run, read_histories
from ntk_study.plots.style import apply_style, save_figure

STYLES = {"ce": ("C0", "--"), "mse": ("C1", "--"), "ce_aux": ("C0", "-"), "mse_aux": ("C1", "-"),
          "mse_rdi": ("C2", "-")}


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    histories = read_histories(out_dir)
    at_noise = histories[np.isclose(histories["noise"], settings["noise"])]
    stops = per_run(at_noise)
    apply_style()
    fig, (test_ax, train_ax) = plt.subplots(1, 2, figsize=(14, 5))
    for method, (color, line) in STYLES.items():
        rows = at_noise[at_noise["method"] == method]
        if rows.empty:
            continue
        for ax, column in ((test_ax, "test_accuracy"), (train_ax, "train_accuracy")):
            by_epoch = rows.groupby("epoch")[column]
            mean = by_epoch.mean()
            ax.plot(mean.index, mean.values, color=color, ls=line, label=LABELS[method])
            ax.fill_between(mean.index, by_epoch.min().values, by_epoch.max().values, color=color, alpha=0.12)
        if method in ("ce", "mse"):  # early-stopping epochs chosen on the held-out noisy labels
            chosen = stops[stops["method"] == method]
            test_ax.scatter(chosen["stop_epoch"], chosen["early_stop"], color=color, marker="v", s=40, zorder=3)
    test_ax.set_xlabel("epoch")
    test_ax.set_ylabel("clean test accuracy (%)")
    test_ax.set_title(f"p = {settings['noise']:g}: mean and range over seeds (v: early-stopping epoch)")
    test_ax.legend(fontsize=8)
    train_ax.set_xlabel("epoch")
    train_ax.set_ylabel("accuracy on the noisy training labels (%)")
    train_ax.set_title("fit of the noisy training labels (above the line: wrong labels memorised)")
    train_ax.axhline(100 * (1 - settings["noise"]), color="k", lw=0.8, ls=":",
                     label=f"{100 * (1 - settings['noise']):.0f}%: the correctly labelled share")
    train_ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
