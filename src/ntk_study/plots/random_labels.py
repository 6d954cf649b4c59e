"""fig-random-labels: training loss vs SGD step for the five conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    curves = pd.read_csv(out_dir / "curves.csv")
    apply_style()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    colours = dict(zip(curves["condition"].unique(), plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (seed, condition), rows in curves.groupby(["seed", "condition"], sort=False):
        ax.plot(rows["step"], rows["loss"], color=colours[condition], alpha=1.0 if seed == 0 else 0.35,
                lw=1.6 if seed == 0 else 1.0, label=condition if seed == 0 else None)
    ax.axhline(settings["loss_threshold"], ls=":", color="0.5")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("average training loss")
    ax.set_title(f"CIFAR-10, {settings['n_train']} images, small CNN "
                 f"({curves['seed'].nunique()} seeds; faint: seeds > 0)")
    ax.legend(fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
