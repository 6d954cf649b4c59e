"""fig-ntk-structure: Theta_c/Theta_d and Theta_n/Theta_d vs step per phase, the test accuracy and the
training loss, and the probe NTK at the last step (divided by its mean diagonal) per phase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ntk_study.analysis.ntk_structure import PHASES, structure
from ntk_study.plots.phase_ntk_change import PHASE_STYLE
from ntk_study.plots.style import apply_style, save_figure

WITHIN, BETWEEN = "#009988", "#cc3311"


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = structure(out_dir)
    with np.load(out_dir / "probe_ntk.npz") as stored:
        final = {phase: stored[phase][-1] for phase in PHASES}
        labels = stored["probe_labels"]
    apply_style()
    fig, axes = plt.subplots(2, 4, figsize=(17, 8.2))
    for column, phase in enumerate(PHASES):
        label, color, marker = PHASE_STYLE[phase]
        rows = table[table["phase"] == phase]
        ax = axes[0, column]
        ax.plot(rows["step"], rows["within_ratio"], color=WITHIN, lw=2,
                label=r"$\bar\Theta_c / \bar\Theta_d$ (within class)")
        ax.plot(rows["step"], rows["between_ratio"], color=BETWEEN, lw=2,
                label=r"$\bar\Theta_n / \bar\Theta_d$ (between classes)")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("Adam step")
        ax.set_title(rf"{label}, $\sigma_w^2$ = {rows['sigma_w2'].iloc[0]:g}: final gap {rows['gap'].iloc[-1]:.2f}")
        heat = axes[1, column]
        kernel = final[phase] / np.mean(np.diag(final[phase]))
        image = heat.imshow(kernel, cmap="magma", vmin=0, vmax=max(1.0, float(kernel.max())))
        edges = np.flatnonzero(np.diff(labels)) + 0.5
        for edge in edges:
            heat.axhline(edge, color="white", lw=0.6)
            heat.axvline(edge, color="white", lw=0.6)
        heat.set_xticks([])
        heat.set_yticks([])
        heat.set_title(rf"{label}: $\Theta / \bar\Theta_d$ at step {int(rows['step'].iloc[-1])}")
        heat.set_xlabel("probes, grouped by class")
        fig.colorbar(image, ax=heat, fraction=0.046, pad=0.04)
        for ax_, column_name in ((axes[0, 3], "test_accuracy"), (axes[1, 3], "train_loss")):
            ax_.plot(rows["step"], rows[column_name], color=color, marker=marker, markevery=max(1, len(rows) // 6),
                     lw=1.5, label=rf"{label} ($\sigma_w^2$ = {rows['sigma_w2'].iloc[0]:g})")
    axes[0, 0].set_ylabel("ratio to the mean diagonal")
    axes[0, 0].legend(fontsize=9, loc="lower right")
    axes[0, 3].set_ylabel("test accuracy")
    axes[0, 3].set_xlabel("Adam step")
    axes[0, 3].legend(fontsize=9)
    axes[1, 3].set_yscale("log")
    axes[1, 3].set_ylabel("training loss")
    axes[1, 3].set_xlabel("Adam step")
    n_train = "all" if settings["n_train"] is None else settings["n_train"]
    fig.suptitle(f"{settings['dataset'].upper()} classes {settings['classes']}: {n_train} training images, "
                 f"width {settings['width']}, depth {settings['depth']}, full-batch Adam lr "
                 f"{settings['learning_rate']:g}; NTK on {settings['probes_per_class']} training images per class")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
