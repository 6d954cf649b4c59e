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
    ax.plot(errors["width"], errors["train_error"], "o-", label="training error")
    ax.plot(errors["width"], errors["test_error"], "s-", label="test error")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden units m")
    ax.set_ylabel("error")
    ax.set_title(f"CIFAR-10, {settings['n_train']} training images, two-layer ReLU nets")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
