"""fig-parent-child: the children's test error against the parent's (figure.png), and the three
loss-landscape panels (landscape.png): the two paths between solutions, the kernel distances
between the children's tangent kernels, and the sharpness of the sharp-minimum runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.analysis.parent_child import child_errors, tangent_distances
from ntk_study.plots.style import apply_style, save_figure

CHILD, PARENT = "#cc3311", "#0077bb"


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    apply_style()
    plot_children(out_dir, settings)
    plot_landscape(out_dir)


def plot_children(out_dir: Path, settings: dict[str, Any]) -> None:
    errors = child_errors(out_dir)
    child = settings["child"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    for index, (_, run) in enumerate(errors.groupby("replicate")):
        first = not index
        ax.plot(run["parent_epoch"], run["child_error"], marker="o", color=CHILD, lw=1,
                label=f"child: kernel regression with the NTK at t ({child['n_train']} images)" if first else None)
        ax.plot(run["parent_epoch"], run["parent_error"], marker="s", color=PARENT, lw=1, alpha=0.6,
                label="parent at t" if first else None)
    ax.axvspan(0, settings["first_epochs"], color="#eeeeee", zorder=0)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("parent epoch t (spawning time)")
    ax.set_ylabel(f"test error ({child['n_test']} test images)")
    ax.set_title("(a) learning with the NTK of epoch t (one line per parent)")
    ax.legend(fontsize=9)
    ax = axes[1]
    for _, run in errors.groupby("replicate"):
        ax.plot(run["parent_epoch"], run["kernel_distance_from_first"], marker="o", color=CHILD, lw=1)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("parent epoch t (spawning time)")
    ax.set_ylabel("S(child at t = 0, child at t)")
    ax.set_title("(b) how far each child's kernel is from the first child's")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")


def plot_landscape(out_dir: Path) -> None:
    paths = pd.read_csv(out_dir / "paths.csv")
    sharpness = pd.read_csv(out_dir / "sharpness.csv")
    epochs, distances = tangent_distances(out_dir)
    fig, axes = plt.subplots(1, 3, figsize=(19, 4.8))

    ax = axes[0]
    paths = paths[paths["pair"] == paths["pair"].min()]  # the first parent and the second solution
    for name, label, color in (("line", "straight line", "#ee3377"), ("bezier", "trained Bezier curve", "#009988")):
        path = paths[paths["path"] == name].sort_values("t")
        ax.plot(path["t"], path["train_loss"], marker="o", color=color, label=f"{label}: training loss")
        ax.plot(path["t"], 1 - path["test_accuracy"], ls="--", color=color, label=f"{label}: test error")
    ax.set_xlabel("position t between solution A (0) and B (1)")
    ax.set_ylabel("training loss / test error")
    ax.set_title("(a) mode connectivity (the first pair of solutions)")
    ax.legend(fontsize=8)

    ax = axes[1]
    image = ax.imshow(distances, cmap="viridis", vmin=0, origin="lower")
    labels = [f"{epoch:g}" for epoch in epochs]
    ax.set_xticks(range(len(epochs)), labels)
    ax.set_yticks(range(len(epochs)), labels)
    for i in range(len(epochs)):
        for j in range(len(epochs)):
            ax.text(j, i, f"{distances[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if distances[i, j] < distances.max() / 2 else "black")
    ax.set_xlabel("child spawned at epoch")
    ax.set_ylabel("child spawned at epoch")
    ax.set_title("(b) S between the first parent's children's NTKs")
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)

    ax = axes[2]
    minimum = sharpness[sharpness["phase"] == "minimum"]
    for phase, color in (("small_lr", "#0077bb"), ("large_lr", "#ee7733")):
        run = pd.concat([minimum, sharpness[sharpness["phase"] == phase]]).sort_values("step")
        lr = run["learning_rate"].iloc[-1]
        ax.plot(run["step"], run["sharpness"], marker="o", color=color,
                label=f"continue at lr {lr:g} (end: test acc. {run['test_accuracy'].iloc[-1]:.1%})")
        limit = run["stability_limit"].iloc[-1]
        ax.axhline(limit, color=color, ls=":", lw=1, label=f"stability limit 2(1 + β)/lr = {limit:.0f}")
    ax.set_yscale("log")
    ax.set_xlabel("full-batch GD step (heavy-ball momentum β)")
    ax.set_ylabel("sharpness (top Hessian eigenvalue)")
    ax.set_title(f"(c) from a minimum reached at lr {minimum['learning_rate'].iloc[0]:g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "landscape.png")
