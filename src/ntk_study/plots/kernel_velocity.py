"""fig-kernel-velocity: the parent's accuracy, the kernel distance from initialisation at every
checkpoint, the per-epoch kernel velocity with the transient marked, and the pairwise kernel
distances between checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ntk_study.analysis.kernel_velocity import (
    distances_from_start,
    epoch_velocities,
    load_kernels,
    transient_statistics,
)
from ntk_study.kernel_dynamics import distance_matrix
from ntk_study.plots.style import apply_style, save_figure

TRANSIENT = "#ee7733"


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    history = distances_from_start(out_dir)
    velocities = epoch_velocities(out_dir)
    transient = settings["transient_epochs"]
    stats = transient_statistics(velocities, transient)
    epochs, kernels = load_kernels(out_dir)
    apply_style()
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.6))

    ax = axes[0]
    ax.plot(history["epoch"], history["train_accuracy"], marker=".", label="training")
    ax.plot(history["epoch"], history["test_accuracy"], marker=".", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("the network being trained")
    ax.legend()

    ax = axes[1]
    ax.plot(history["epoch"], history["distance_from_init"], marker=".", color="#0077bb")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"kernel distance $S(0, t)$")
    ax.set_title("distance from the initial NTK")

    ax = axes[2]
    early = velocities["epoch"] <= transient
    ax.bar(velocities["epoch"] - 0.5, velocities["velocity"], width=0.9,
           color=np.where(early, TRANSIENT, "#33bbee"))
    ax.axhline(stats["later_mean"], color="black", lw=1,
               label=(f"mean after epoch {transient}: {stats['later_mean']:.3f} "
                      f"(fitted drift x{np.exp(stats['drift']):.2f})"))
    ax.axhline(stats["early_mean"], color=TRANSIENT, lw=1, ls="--",
               label=f"mean in epochs 1-{transient}: {stats['early_mean']:.3f} ({stats['ratio']:.1f}x)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"velocity $S(e-1, e)$ per epoch")
    ax.set_title("kernel velocity")
    ax.legend(fontsize=9)

    ax = axes[3]
    image = ax.imshow(distance_matrix(kernels), cmap="viridis", origin="lower")
    ticks = [i for i, epoch in enumerate(epochs) if np.isclose(epoch, round(epoch)) and round(epoch) % 5 == 0]
    ax.set_xticks(ticks, [f"{epochs[i]:g}" for i in ticks])
    ax.set_yticks(ticks, [f"{epochs[i]:g}" for i in ticks])
    ax.set_xlabel("checkpoint epoch")
    ax.set_ylabel("checkpoint epoch")
    ax.set_title(r"$S(t_1, t_2)$ between checkpoints")
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)

    net = settings["network"]
    side = settings["image_size"]
    fig.suptitle(f"CIFAR-10, {settings['n_train']} training images at {side}x{side}, "
                 f"stax ResNet blocks {net['stage_blocks']} channels {net['stage_channels']}, SGD lr "
                 f"{settings['learning_rate']:g} momentum {settings['momentum']:g} batch {settings['batch_size']}; "
                 f"NTK (traced over logits) on {settings['probes']} training images")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
