"""fig-kernel-velocity: kernel distances and velocities from probe_ntk.npz, and the claims.

Kernel distance S(t1, t2) = 1 - <K1, K2>_F / (||K1|| ||K2||) (``kernel_dynamics.kernel_distance``).
The velocity of epoch e is S(K_{e-1}, K_e) per epoch, between the checkpoints at the ends of the
epoch: the same spacing for every epoch, so early and late velocities compare like with like
(for small moves S grows like the square of the angle between the kernels, so a velocity over a
shorter spacing would read lower).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.kernel_dynamics import distance_matrix

FIGURE_ID = "fig-kernel-velocity"


def load_kernels(out_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(checkpoint epochs, probe kernels (C, P, P))."""
    with np.load(out_dir / "probe_ntk.npz") as stored:
        return stored["epochs"], stored["kernels"]


def distances_from_start(out_dir: Path) -> pd.DataFrame:
    """history.csv with the kernel distance of every checkpoint to the initial kernel."""
    epochs, kernels = load_kernels(out_dir)
    history = pd.read_csv(out_dir / "history.csv")
    return history.assign(distance_from_init=distance_matrix(kernels)[0])


def epoch_velocities(out_dir: Path) -> pd.DataFrame:
    """One row per epoch e >= 1: S(K_{e-1}, K_e) / 1 epoch."""
    epochs, kernels = load_kernels(out_dir)
    whole = np.flatnonzero(np.isclose(epochs, np.round(epochs)))
    distances = distance_matrix(kernels[whole])
    ends = np.round(epochs[whole]).astype(int)
    return pd.DataFrame({"epoch": ends[1:], "velocity": [distances[i, i + 1] / (ends[i + 1] - ends[i])
                                                        for i in range(len(ends) - 1)]})


def transient_statistics(velocities: pd.DataFrame, transient_epochs: int) -> dict[str, float]:
    """Mean velocity in epochs 1..T and after, their ratio, the later velocities' coefficient of
    variation (standard deviation / mean), and their drift: the slope of ln velocity against epoch
    after epoch T (least squares) and the fitted log change over those epochs, ln(v_last / v_first)
    of the fitted line (0 for a constant velocity, ln 2 for one that doubles)."""
    early = velocities.loc[velocities["epoch"] <= transient_epochs, "velocity"].to_numpy()
    later_rows = velocities[velocities["epoch"] > transient_epochs]
    later = later_rows["velocity"].to_numpy()
    if not len(early) or len(later) < 2:
        raise ValueError(f"need epochs inside and at least two after the {transient_epochs}-epoch transient")
    if np.any(later <= 0):
        raise ValueError(f"a velocity after the transient is not positive: {later.tolist()}")
    epochs = later_rows["epoch"].to_numpy(dtype=float)
    slope = float(np.polyfit(epochs, np.log(later), 1)[0])
    return {"early_mean": float(early.mean()), "later_mean": float(later.mean()),
            "ratio": float(early.mean() / later.mean()), "later_cv": float(later.std() / later.mean()),
            "later_epochs": len(later), "log_slope": slope, "drift": slope * float(epochs[-1] - epochs[0]),
            "first_later": int(epochs[0]), "last_later": int(epochs[-1])}


def measure(out_dir: Path, settings: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """One training run's value of each claim's statistic, with a short account: {key: (value, details)}."""
    transient = settings["transient_epochs"]
    stats = transient_statistics(epoch_velocities(out_dir), transient)
    span = f"epochs {stats['first_later']}-{stats['last_later']}"
    return {
        "chaotic-transient": (stats["ratio"], (
            f"one training run: mean velocity (kernel distance per epoch) {stats['early_mean']:.4g} in epochs "
            f"1-{transient}, {stats['later_mean']:.4g} after: {stats['ratio']:.2f}x")),
        "constant-velocity": (stats["drift"], (
            f"one training run: ln velocity vs epoch over {span}: slope {stats['log_slope']:.3g} per epoch, "
            f"fitted velocity x{np.exp(stats['drift']):.2f} from first to last (coefficient of variation "
            f"{stats['later_cv']:.2f}, not tested: a steady drift can keep it low)")),
    }


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    """One training run is one replicate (the study trains one per seed)."""
    return [decide(FIGURE_ID, key, [value], scale, details=details)
            for key, (value, details) in measure(out_dir, settings).items()]


def parameter_count(network: dict[str, Any], n_outputs: int = 10) -> int:
    """Weights of the stax ResNet of ``kernels.residual`` (no biases): stem, blocks, projections, readout."""
    channels = network["stage_channels"]
    count, previous = 27 * channels[0], channels[0]
    for blocks, width in zip(network["stage_blocks"], channels):
        for block in range(blocks):
            count += 9 * previous * width + 9 * width * width + (previous * width if previous != width else 0)
            previous = width
    return count + previous * n_outputs


def work(settings: dict[str, Any]) -> float:
    """Stated scaling: SGD epochs x images x parameters x pixels (a convolution's weights act at
    every position), plus the probe NTK at every checkpoint (P^2 x 10 logits x parameters)."""
    from ntk_study.checkpoints import checkpoint_steps

    parameters = parameter_count(settings["network"])
    checkpoints = len(checkpoint_steps(settings["n_train"] // settings["batch_size"], settings["epochs"],
                                       settings["dense_epochs"], settings["dense_per_epoch"]))
    training = settings["epochs"] * settings["n_train"] * parameters * settings["image_size"] ** 2
    return float(training + checkpoints * settings["probes"] ** 2 * 10 * parameters)
