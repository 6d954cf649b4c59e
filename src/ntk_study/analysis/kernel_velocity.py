"""fig-kernel-velocity: kernel distances and velocities from probe_ntk.npz, and the claims.

Kernel distance S(t1, t2) = 1 - <K1, K2>_F / (||K1|| ||K2||) (``kernel_dynamics.kernel_distance``),
and the angle between the kernels, arccos(1 - S), in degrees. The claims use angles: for small
moves S grows like the square of the angle (S ~ angle^2 / 2), so a ratio of distances squares a
ratio of angles (a "3x faster" read in S would be 1.7x in angle).
The velocity of epoch e is the angle between K_{e-1} and K_e per epoch, between the checkpoints at
the ends of the epoch: the same spacing for every epoch, so early and late velocities compare like
with like. Each parent run (a replicate id of ``parent_replicates``) is one replicate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide
from ntk_study.kernel_dynamics import distance_matrix

FIGURE_ID = "fig-kernel-velocity"


def angle_degrees(distance: np.ndarray | float) -> np.ndarray | float:
    """The angle between two kernels at kernel distance S: arccos(1 - S), in degrees."""
    return np.degrees(np.arccos(np.clip(1.0 - np.asarray(distance, dtype=float), -1.0, 1.0)))


def load_kernels(out_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parent replicate ids, checkpoint epochs, probe kernels (parents, checkpoints, P, P))."""
    with np.load(out_dir / "probe_ntk.npz") as stored:
        return stored["replicates"], stored["epochs"], stored["kernels"]


def distances_from_start(out_dir: Path) -> pd.DataFrame:
    """history.csv with each checkpoint's kernel distance and angle to its parent's initial kernel."""
    replicates, _, kernels = load_kernels(out_dir)
    history = pd.read_csv(out_dir / "history.csv")
    distance = {replicate: distance_matrix(stack)[0] for replicate, stack in zip(replicates, kernels)}
    checkpoint = history.groupby("replicate").cumcount()  # each row's checkpoint within its own run
    history["distance_from_init"] = [distance[r][i] for r, i in zip(history["replicate"], checkpoint)]
    history["angle_from_init"] = angle_degrees(history["distance_from_init"])
    return history


def epoch_velocities(out_dir: Path) -> pd.DataFrame:
    """One row per parent and epoch e >= 1: the angle between K_{e-1} and K_e per epoch (and S)."""
    replicates, epochs, kernels = load_kernels(out_dir)
    whole = np.flatnonzero(np.isclose(epochs, np.round(epochs)))
    ends = np.round(epochs[whole]).astype(int)
    frames = []
    for replicate, stack in zip(replicates, kernels):
        distances = distance_matrix(stack[whole])
        step = np.array([distances[i, i + 1] for i in range(len(ends) - 1)])
        frames.append(pd.DataFrame({"replicate": int(replicate), "epoch": ends[1:],
                                    "distance": step / np.diff(ends),
                                    "velocity": angle_degrees(step) / np.diff(ends)}))
    return pd.concat(frames, ignore_index=True)


def transient_statistics(velocities: pd.DataFrame, transient_epochs: int) -> dict[str, float]:
    """For one run's velocities (degrees per epoch): the mean in epochs 1..T and after, their ratio,
    the later velocities' coefficient of variation, and their drift: the slope of ln velocity
    against epoch after epoch T (least squares) and the fitted log change over those epochs,
    ln(v_last / v_first) of the fitted line (0 for a constant velocity, ln 2 for one that doubles)."""
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


def per_parent(out_dir: Path, settings: dict[str, Any]) -> pd.DataFrame:
    """One row per parent run: ``transient_statistics`` of its velocities."""
    velocities = epoch_velocities(out_dir)
    rows = [{"replicate": replicate, **transient_statistics(group, settings["transient_epochs"])}
            for replicate, group in velocities.groupby("replicate")]
    return pd.DataFrame(rows)


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    """One parent run (an initialisation and a data order) is one replicate of both claims."""
    stats = per_parent(out_dir, settings)
    transient, n = settings["transient_epochs"], len(stats)
    span = f"epochs {stats['first_later'].iloc[0]}-{stats['last_later'].iloc[0]}"
    listed = ", ".join
    return [
        decide(FIGURE_ID, "chaotic-transient", stats["ratio"].tolist(), scale, details=(
            f"{n} parent runs: mean velocity in epochs 1-{transient} "
            f"{listed(f'{v:.3g}' for v in stats['early_mean'])} degrees per epoch, after "
            f"{listed(f'{v:.3g}' for v in stats['later_mean'])}: ratios {listed(f'{v:.2f}' for v in stats['ratio'])}")),
        decide(FIGURE_ID, "constant-velocity", stats["drift"].tolist(), scale, details=(
            f"{n} parent runs: ln velocity vs epoch over {span}, fitted velocity "
            f"x{listed(f'{np.exp(v):.2f}' for v in stats['drift'])} from first to last (coefficient of "
            f"variation {listed(f'{v:.2f}' for v in stats['later_cv'])}, not tested: a steady drift can keep it "
            "low)")),
    ]


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
    """Stated scaling, per parent run: SGD epochs x images x parameters x pixels (a convolution's weights act at
    every position), plus the probe NTK at every checkpoint (P^2 x 10 logits x parameters)."""
    from ntk_study.checkpoints import checkpoint_steps

    parameters = parameter_count(settings["network"])
    checkpoints = len(checkpoint_steps(settings["n_train"] // settings["batch_size"], settings["epochs"],
                                       settings["dense_epochs"], settings["dense_per_epoch"]))
    training = settings["epochs"] * settings["n_train"] * parameters * settings["image_size"] ** 2
    return float(len(settings["parent_replicates"])
                 * (training + checkpoints * settings["probes"] ** 2 * 10 * parameters))
