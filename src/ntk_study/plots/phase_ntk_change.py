"""fig-phase-ntk-change: |E[Delta Theta(x, x)]| / E[Theta(x, x)] vs lambda = L/M, one curve per phase,
for the first-order change (left) and the exact change after the step (right)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.phase_ntk_change import CHANGE_NAMES, summary
from ntk_study.plots.style import apply_style, save_figure

PHASE_STYLE = {"ordered": ("ordered", "C0", "^"), "edge": ("edge of chaos", "C1", "o"),
               "chaotic": ("chaotic", "C3", "d")}


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = summary(pd.read_csv(out_dir / "changes.csv"))
    apply_style()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, name in zip(axes, ("first_order", "step")):
        for phase, (label, color, marker) in PHASE_STYLE.items():
            rows = table[table["phase"] == phase]
            ratio, error = rows[f"ratio_{name}"].to_numpy(), rows[f"error_{name}"].to_numpy()
            magnitude = np.abs(ratio)
            # Error bars in log space are clipped where the interval reaches zero.
            lower = np.minimum(error, 0.999 * magnitude)
            ax.errorbar(rows["depth_ratio"], magnitude, yerr=[lower, error], color=color, marker=None,
                        capsize=3, lw=1.2, label=rf"{label} ($\sigma_w^2$ = {rows['sigma_w2'].iloc[0]:g})")
            positive = ratio > 0
            ax.scatter(rows["depth_ratio"][positive], magnitude[positive], color=color, marker=marker, s=40,
                       zorder=3)
            ax.scatter(rows["depth_ratio"][~positive], magnitude[~positive], facecolors="white", edgecolors=color,
                       marker=marker, s=40, zorder=3)
        ax.set_yscale("log")
        ax.set_xlabel(r"depth-to-width ratio $\lambda = L / M$")
        ax.set_title(CHANGE_NAMES[name])
    axes[0].set_ylabel(r"$|\mathbb{E}[\Delta\Theta(x,x)]| \;/\; \mathbb{E}[\Theta(x,x)]$")
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="0.3", marker="o", ls=""),
                plt.Line2D([], [], color="0.3", marker="o", ls="", markerfacecolor="white")]
    labels += ["E[ΔΘ] > 0", "E[ΔΘ] < 0"]
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.1), frameon=False)
    first = table.iloc[0]
    fig.suptitle(f"One GD step on one sample: width M = {settings['width']}, "
                 f"{int(first['initialisations'])} initialisations per point (mean ± s.e.), "
                 rf"$\eta$ = {settings['step_size_multiple']:g} / $\Theta^*_{{\mathrm{{EOC}}}}(x,x)$, "
                 f"y = {settings['label']:g}")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
