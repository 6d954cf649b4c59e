"""fig-phase-ntk-change: E[Delta Theta(x, x)] / E[Theta(x, x)] after one phase-fair GD step, one curve
per phase: against lambda = L/M at one width (top) and against the width M at one lambda (bottom), for
the first-order change (left) and the exact change after the step (right). Magnitudes on a log axis,
the sign by the marker (open: the mean change is negative), 95% bands from the standard errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
from scipy import stats

from ntk_study.analysis.phase_ntk_change import CHANGE_NAMES, summary
from ntk_study.claims.verdict import CONFIDENCE
from ntk_study.plots.style import apply_style, save_figure

PHASE_STYLE = {"ordered": ("ordered", "C0", "^"), "edge": ("edge of chaos", "C1", "o"),
               "chaotic": ("chaotic", "C3", "d")}
SWEEP_AXES = {"depth": ("depth_ratio", r"depth-to-width ratio $\lambda = L / M$"),
              "width": ("width", r"width $M$ (depth $L = \lambda M$)")}


# Panels per sweep: (change, phases). The ordered phase's first-order change spans many decades, so
# it has a panel of its own, and the other two phases' bands stay legible.
PANELS = (("first_order", ("edge", "chaotic")), ("first_order", ("ordered",)), ("step", ("ordered", "edge", "chaotic")))
# Where a band reaches zero (its sign is not known), it is cut at this fraction of the value (a log
# axis has no zero).
BAND_FLOOR = 0.1


def _curve(ax: plt.Axes, rows: pd.DataFrame, x_column: str, name: str, color: str, marker: str, label: str) -> None:
    x = rows[x_column].to_numpy(dtype=float)
    ratio, error = rows[f"ratio_{name}"].to_numpy(), rows[f"error_{name}"].to_numpy()
    t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(rows["initialisations"].to_numpy() - 1, 1))
    magnitude = np.abs(ratio)
    low = np.where(magnitude > t * error, magnitude - t * error, BAND_FLOOR * magnitude)
    ax.fill_between(x, low, magnitude + t * error, color=color, alpha=0.2, lw=0)
    ax.plot(x, magnitude, color=color, lw=1.2, label=label)
    positive = ratio > 0
    ax.scatter(x[positive], magnitude[positive], color=color, marker=marker, s=36, zorder=3)
    ax.scatter(x[~positive], magnitude[~positive], facecolors="white", edgecolors=color, marker=marker, s=36,
               zorder=3)


def _common_eta(ax: plt.Axes, table: pd.DataFrame, rows: pd.DataFrame, x_column: str, color: str) -> None:
    """The first-order change is linear in eta: with one eta for every phase (c / Theta* of the
    edge-of-chaos network, the earlier design) it would be R * Theta*_phase / Theta*_EOC."""
    edge = table[(table["sweep"] == "depth") & (table["phase"] == "edge")].sort_values(x_column)
    common = np.abs(rows["ratio_first_order"].to_numpy() * rows["theta_analytic"].to_numpy()
                    / edge["theta_analytic"].to_numpy())
    ax.plot(rows[x_column], common, color=color, lw=1, ls=":")


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    changes = pd.read_csv(out_dir / "changes.csv")
    table = summary(changes)
    apply_style()
    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    for row, sweep in enumerate(("depth", "width")):
        x_column, x_label = SWEEP_AXES[sweep]
        fixed = (f"M = {settings['width']}" if sweep == "depth"
                 else rf"$\lambda$ = {settings['width_sweep']['depth_ratio']:g}")
        for col, (name, phases) in enumerate(PANELS):
            ax = axes[row, col]
            for phase in phases:
                label, color, marker = PHASE_STYLE[phase]
                rows = table[(table["sweep"] == sweep) & (table["phase"] == phase)].sort_values(x_column)
                _curve(ax, rows, x_column, name, color, marker,
                       rf"{label} ($\sigma_w^2$ = {rows['sigma_w2'].iloc[0]:g})")
                if sweep == "depth" and name == "first_order" and phase != "edge":
                    _common_eta(ax, table, rows, x_column, color)
            ax.set_yscale("log")
            low, high = ax.get_ylim()
            if high / low < 100:  # under two decades: label 1, 2, 3 and 5 times the powers of ten
                ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
                ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
                ax.yaxis.set_minor_formatter(ticker.NullFormatter())
            if sweep == "width":
                ax.set_xscale("log", base=2)
                ax.set_xticks(table.loc[table["sweep"] == "width", "width"].unique())
                ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
                ax.minorticks_off()
            ax.set_xlabel(x_label)
            who = "ordered" if phases == ("ordered",) else ("edge, chaotic" if len(phases) == 2 else "all phases")
            ax.set_title(f"{CHANGE_NAMES[name]} ({who}), {fixed}", fontsize=11)
        axes[row, 0].set_ylabel(r"$|\mathbb{E}[\Delta\Theta(x,x)]| \;/\; \mathbb{E}[\Theta(x,x)]$")
    handles, labels = [], []
    for phase, (label, color, marker) in PHASE_STYLE.items():
        handles.append(plt.Line2D([], [], color=color, marker=marker, markerfacecolor="white"))
        labels.append(rf"{label} ($\sigma_w^2$ = {settings['sigma_w2'][phase]:g})")
    handles += [plt.Line2D([], [], color="0.3", marker="o", ls=""),
                plt.Line2D([], [], color="0.3", marker="o", ls="", markerfacecolor="white"),
                plt.Line2D([], [], color="0.3", ls=":")]
    labels += ["E[ΔΘ] > 0", "E[ΔΘ] < 0",
               r"first-order with one $\eta$ for all phases ($c / \Theta^*_{\mathrm{EOC}}$)"]
    fig.legend(handles, labels, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.08), frameon=False)
    counts = changes.groupby(["sweep", "width", "depth"])["replicate"].nunique()
    fig.suptitle(rf"One phase-fair GD step on one sample: $\eta$ = {settings['step_size_multiple']:g} / "
                 rf"$\Theta^*_{{\mathrm{{phase}}}}(x,x)$, y = {settings['label']:g} "
                 rf"$\sqrt{{K^*_{{\mathrm{{phase}}}}(x,x)}}$; {counts.min()}-{counts.max()} initialisations "
                 f"per point; 95% bands (cut at {BAND_FLOOR:g} of the value where they reach zero)")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
