"""fig-overparam: train and test error vs number of hidden units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    errors = pd.read_csv(out_dir / "errors.csv").sort_values("width")
    apply_style()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    means = errors.groupby("width", as_index=False)[["train_error", "test_error"]].mean()
    for column, marker, label in (("train_error", "o", "training error"), ("test_error", "s", "test error")):
        line, = ax.plot(means["width"], means[column], f"{marker}-", label=f"{label} (mean over seeds)")
        ax.scatter(errors["width"], errors[column], marker=marker, s=12, alpha=0.4, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden units m")
    ax.set_ylabel("error")
    ax.set_title(f"CIFAR-10, {settings['n_train']} training images, two-layer ReLU nets")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
