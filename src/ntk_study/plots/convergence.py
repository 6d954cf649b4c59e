"""fig-convergence-*: ||y - u(k)||^2 for true, random and worst-case labels, with Theorem 4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.plots.projections import LABELS
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    curves = pd.read_csv(out_dir / "curves.csv")
    apply_style()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for name, (label, color) in LABELS.items():
        rows = curves[curves["labels"] == name]
        ax.plot(rows["step"], rows["measured"], color=color, label=f"{label}: trained network")
        ax.plot(rows["step"], rows["predicted"], "--", color=color, label=f"{label}: Theorem 4")
    ax.set_yscale("log")
    ax.set_xlabel("GD iteration k")
    ax.set_ylabel(r"$\|y - u(k)\|_2^2$")
    ax.set_title(f"{settings['dataset']}, n = {settings['n_train']}, m = {settings['width']}, "
                 rf"$\kappa$ = {settings['init_scale']:g}")
    ax.legend(fontsize=8, ncol=1)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
