"""fig-ntk-structure: Theta_c/Theta_d and Theta_n/Theta_d vs step per phase for every sigma_w^2 of the
sweep (mean over seeds, band: range over seeds), test accuracy and training loss, the probe NTK at the
last step (divided by its mean diagonal) at the published sigma_w^2 of each phase, the openings of
the gap per sigma_w^2 and the final gap against the final test accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ntk_study import catalog
from ntk_study.analysis.ntk_structure import EDGE_OF_CHAOS, FIGURE_ID, PHASES, per_run, structure
from ntk_study.claims import t_interval
from ntk_study.plots.style import apply_style, save_figure

WITHIN, BETWEEN = "#009988", "#cc3311"
PHASE_TITLE = {"ordered": r"ordered, $\sigma_w^2 < 2$", "edge": r"edge of chaos, $\sigma_w^2 = 2$",
               "chaotic": r"chaotic, $\sigma_w^2 > 2$"}
DASHES = ("-", "--", ":", "-.")


def sigma_colors(sigma_w2: list[float]) -> dict[float, tuple]:
    """Blues for the ordered values, purple for the edge of chaos, reds for the chaotic values."""
    ordered = [s for s in sigma_w2 if s < EDGE_OF_CHAOS]
    chaotic = [s for s in sigma_w2 if s > EDGE_OF_CHAOS]
    colors = {s: plt.cm.Blues(0.45 + 0.45 * i / max(1, len(ordered) - 1)) for i, s in enumerate(ordered)}
    colors.update({s: plt.cm.Reds(0.55 + 0.35 * i / max(1, len(chaotic) - 1)) for i, s in enumerate(chaotic)})
    colors.update({s: "#aa3377" for s in sigma_w2 if s == EDGE_OF_CHAOS})
    return colors


def _band(ax, rows, column: str, color, style: str = "-", label: str | None = None) -> None:
    """Mean over seeds with the range over seeds as a band."""
    stats = rows.groupby("step")[column].agg(["mean", "min", "max"])
    ax.plot(stats.index, stats["mean"], color=color, ls=style, lw=1.8, label=label)
    ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.18, lw=0)


def _steps_axis(ax, last_step: int) -> None:
    ax.set_xscale("symlog", linthresh=10, linscale=0.6)
    ax.set_xlim(0, last_step)
    ax.set_xlabel("Adam step (linear below 10, log above)")


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = structure(out_dir)
    runs = per_run(table)
    sigma_w2 = sorted(table["sigma_w2"].unique())
    colors = sigma_colors(sigma_w2)
    seeds, last_step = table["replicate"].nunique(), int(table["step"].max())
    with np.load(out_dir / "probe_ntk.npz") as stored:
        kernels, labels, stored_sigma = stored["kernels"], stored["probe_labels"], list(stored["sigma_w2"])
        first_replicate = int(stored["replicates"][0])
    apply_style()
    fig, axes = plt.subplots(2, 5, figsize=(24, 9.6))
    for column, phase in enumerate(PHASES):
        ax = axes[0, column]
        values = [s for s in sigma_w2 if table.loc[table["sigma_w2"] == s, "phase"].iloc[0] == phase]
        for index, s in enumerate(values):
            rows = table[table["sigma_w2"] == s]
            _band(ax, rows, "within_ratio", WITHIN, DASHES[index % len(DASHES)])
            _band(ax, rows, "between_ratio", BETWEEN, DASHES[index % len(DASHES)])
        handles = [Line2D([], [], color=WITHIN, lw=2, label=r"$\bar\Theta_c / \bar\Theta_d$ (same class)"),
                   Line2D([], [], color=BETWEEN, lw=2, label=r"$\bar\Theta_n / \bar\Theta_d$ (different classes)")]
        handles += [Line2D([], [], color="0.3", ls=DASHES[i % len(DASHES)], lw=1.8, label=rf"$\sigma_w^2$ = {s:g}")
                    for i, s in enumerate(values)]
        ax.legend(handles=handles, fontsize=9, loc="lower left")
        ax.set_ylim(0, 1.05)
        _steps_axis(ax, last_step)
        ax.set_title(PHASE_TITLE[phase])
    axes[0, 0].set_ylabel(f"ratio to the mean diagonal\n(mean of {seeds} seeds, band: their range)")
    for s in sigma_w2:
        rows = table[table["sigma_w2"] == s]
        _band(axes[0, 3], rows, "test_accuracy", colors[s], label=rf"$\sigma_w^2$ = {s:g}")
        _band(axes[0, 4], rows, "train_loss", colors[s], label=rf"$\sigma_w^2$ = {s:g}")
    for ax, name in ((axes[0, 3], "test accuracy"), (axes[0, 4], "training loss")):
        _steps_axis(ax, last_step)
        ax.set_ylabel(name)
        ax.set_title(f"{name} (mean of {seeds} seeds, band: range)")
    axes[0, 3].legend(fontsize=9, loc="upper left")
    axes[0, 4].set_yscale("log")

    # Heat maps: the published sigma_w^2 of each phase (the claims' ordered value, 2, the smallest chaotic).
    shown = [float(settings["ordered_sigma_w2"]), EDGE_OF_CHAOS, min(s for s in sigma_w2 if s > EDGE_OF_CHAOS)]
    edges = np.flatnonzero(np.diff(labels[0])) + 0.5
    for column, s in enumerate(shown):
        heat = axes[1, column]
        final = kernels[0, stored_sigma.index(s), -1]
        kernel = final / np.mean(np.diag(final))
        image = heat.imshow(kernel, cmap="magma", vmin=0, vmax=max(1.0, float(kernel.max())))
        for edge in edges:
            heat.axhline(edge, color="white", lw=0.6)
            heat.axvline(edge, color="white", lw=0.6)
        heat.set_xticks([])
        heat.set_yticks([])
        heat.set_title(rf"$\Theta / \bar\Theta_d$, $\sigma_w^2$ = {s:g}, step {last_step}, "
                       f"seed {first_replicate}")
        heat.set_xlabel("probes, grouped by class")
        fig.colorbar(image, ax=heat, fraction=0.046, pad=0.04)

    # Openings of the gap per sigma_w^2: each seed (thin line: the same seed across the sweep) and the
    # mean with its 95% t interval.
    ax = axes[1, 3]
    for _, seed_runs in runs.groupby("replicate"):
        ax.plot(seed_runs["sigma_w2"], seed_runs["opening"], color="0.6", lw=0.8, marker="o", ms=3)
    for s in sigma_w2:
        evidence = t_interval(runs.loc[runs["sigma_w2"] == s, "opening"].to_numpy())
        error = [[evidence.estimate - evidence.low], [evidence.high - evidence.estimate]]
        ax.errorbar([s], [evidence.estimate], yerr=error, color=colors[s], marker="D", ms=8, capsize=4, lw=2, zorder=3)
    ax.axvline(EDGE_OF_CHAOS, color="0.4", lw=0.8, ls=":")
    ax.axhline(0, color="0.4", lw=0.8)
    threshold = next(c for c in catalog.figure(FIGURE_ID).claims if c.key == "ordered-gap-opens").threshold["above"]
    ax.axhline(threshold, color="0.3", lw=1, ls="--", label=f"{threshold:g}: threshold of the opening at "
               rf"$\sigma_w^2$ = {float(settings['ordered_sigma_w2']):g}")
    ax.legend(fontsize=9, loc="upper right")
    ax.set_xlabel(r"$\sigma_w^2$ (dotted: edge of chaos)")
    ax.set_ylabel("opening: gap at the last step minus at step 0")
    ax.set_title("opening per seed (grey) and mean, 95% interval")

    # Final gap against final test accuracy: one point per seed and sigma_w^2.
    ax = axes[1, 4]
    for _, seed_runs in runs.groupby("replicate"):
        ax.plot(seed_runs["gap"], seed_runs["test_accuracy"], color="0.75", lw=0.6, zorder=1)
    for s in sigma_w2:
        rows = runs[runs["sigma_w2"] == s]
        ax.scatter(rows["gap"], rows["test_accuracy"], color=colors[s], s=30, zorder=2, label=rf"$\sigma_w^2$ = {s:g}")
    ax.set_xlabel(r"final gap $\bar\Theta_c/\bar\Theta_d - \bar\Theta_n/\bar\Theta_d$")
    ax.set_ylabel("final test accuracy")
    ax.set_title("gap vs accuracy (grey: one seed across the sweep)")
    ax.legend(fontsize=9, loc="lower right")

    n_train = "all" if settings["n_train"] is None else settings["n_train"]
    fig.suptitle(f"{settings['dataset'].upper()} classes {settings['classes']}: {n_train} training images, "
                 f"width {settings['width']}, depth {settings['depth']}, full-batch Adam lr "
                 f"{settings['learning_rate']:g} for {settings['steps']} steps; NTK on "
                 f"{settings['probes_per_class']} training images per class; {seeds} seeds per $\\sigma_w^2$")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
