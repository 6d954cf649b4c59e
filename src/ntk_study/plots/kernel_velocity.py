"""fig-kernel-velocity: the parents' accuracy, the angle of each checkpoint's kernel to its parent's
initial kernel, the per-epoch kernel velocity (angle per epoch) with the transient marked, and the
pairwise kernel distances between the first parent's checkpoints. Every parent run is drawn; the
bars are the mean over parents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ntk_study.analysis.kernel_velocity import distances_from_start, epoch_velocities, load_kernels, per_parent
from ntk_study.kernel_dynamics import distance_matrix
from ntk_study.plots.style import apply_style, save_figure

TRANSIENT, LATER, TRAIN, TEST = "#ee7733", "#33bbee", "#0077bb", "#cc3311"


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    history = distances_from_start(out_dir)
    velocities = epoch_velocities(out_dir)
    transient = settings["transient_epochs"]
    stats = per_parent(out_dir, settings)
    replicates, epochs, kernels = load_kernels(out_dir)
    parents = len(replicates)
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))

    ax = axes[0, 0]
    for index, (_, run) in enumerate(history.groupby("replicate")):
        ax.plot(run["epoch"], run["train_accuracy"], color=TRAIN, lw=1, label="training" if not index else None)
        ax.plot(run["epoch"], run["test_accuracy"], color=TEST, lw=1, label="test" if not index else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"(a) the {parents} parent runs")
    ax.legend()

    ax = axes[0, 1]
    for _, run in history.groupby("replicate"):
        ax.plot(run["epoch"], run["angle_from_init"], marker=".", color=TRAIN, lw=1)
    ax.axvspan(0, transient, color="#eeeeee", zorder=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("angle to the initial NTK (degrees)")
    ax.set_title("(b) how far the NTK has moved")

    ax = axes[1, 0]
    mean = velocities.groupby("epoch")["velocity"].mean()
    early = mean.index <= transient
    ax.bar(mean.index - 0.5, mean.to_numpy(), width=0.9, color=np.where(early, TRANSIENT, LATER),
           label=f"mean over {parents} parents (orange: epochs 1-{transient})")
    ax.plot(velocities["epoch"] - 0.5, velocities["velocity"], "k.", ms=4, label="each parent")
    ax.set_xlabel("epoch")
    ax.set_ylabel("velocity (degrees per epoch)")
    ax.set_title(f"(c) kernel velocity: early / later ratio {stats['ratio'].mean():.2f} (mean)")
    ax.legend(fontsize=9)

    ax = axes[1, 1]
    image = ax.imshow(distance_matrix(kernels[0]), cmap="viridis", origin="lower")
    ticks = [i for i, epoch in enumerate(epochs) if np.isclose(epoch, round(epoch)) and round(epoch) % 5 == 0]
    ax.set_xticks(ticks, [f"{epochs[i]:g}" for i in ticks])
    ax.set_yticks(ticks, [f"{epochs[i]:g}" for i in ticks])
    ax.set_xlabel("checkpoint epoch")
    ax.set_ylabel("checkpoint epoch")
    ax.set_title(r"(d) $S(t_1, t_2)$ between the first parent's checkpoints")
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="kernel distance S")

    net = settings["network"]
    side = settings["image_size"]
    fig.suptitle(f"CIFAR-10, {settings['n_train']} training images at {side}x{side}, ResNet "
                 f"{net['stage_blocks']} blocks, {net['stage_channels']} channels, "
                 f"SGD lr {settings['learning_rate']:g};\n"
                 f"NTK traced over the logits on {settings['probes']} training images")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
