"""fig-ntk-structure: class-block means of the probe NTK during training and the claims, from
probe_ntk.npz and curves.csv (no JAX needed).

For a probe kernel Theta and the probes' class labels: Theta_c is the mean of Theta(x_i, x_j) over
pairs of distinct probes of the same class (i != j), Theta_n the mean over pairs of different
classes, Theta_d the mean of the diagonal Theta(x_i, x_i). The gap is Theta_c/Theta_d - Theta_n/Theta_d.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ntk_study.claims import ClaimRow, decide
from ntk_study.data.two_class import INPUT_DIMS

FIGURE_ID = "fig-ntk-structure"
PHASES = ("ordered", "edge", "chaotic")
TRAIN_IMAGES_PER_CLASS = {"mnist": 6000, "cifar10": 5000}  # about; for n_train: null (all)


def class_block_means(kernel: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(within-class off-diagonal mean, between-class mean, diagonal mean) of a square kernel."""
    kernel, labels = np.asarray(kernel, dtype=float), np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return (float(kernel[same & off_diagonal].mean()), float(kernel[~same].mean()),
            float(np.diag(kernel).mean()))


def structure(out_dir: Path) -> pd.DataFrame:
    """curves.csv with the block means and ratios of the probe NTK at every recorded step."""
    curves = pd.read_csv(out_dir / "curves.csv")
    with np.load(out_dir / "probe_ntk.npz") as stored:
        labels, steps = stored["probe_labels"], stored["steps"]
        rows = []
        for phase in PHASES:
            for step, kernel in zip(steps, stored[phase]):
                within, between, diagonal = class_block_means(kernel, labels)
                rows.append({"phase": phase, "step": int(step), "within": within, "between": between,
                             "diagonal": diagonal})
    table = curves.merge(pd.DataFrame(rows), on=["phase", "step"], validate="one_to_one")
    table["within_ratio"] = table["within"] / table["diagonal"]
    table["between_ratio"] = table["between"] / table["diagonal"]
    table["gap"] = table["within_ratio"] - table["between_ratio"]
    return table


def phase_rank_correlation(gaps: list[float], accuracies: list[float]) -> float:
    """Spearman rho of the final gap and the final test accuracy over the phases; 0 when either is
    constant (no order to compare)."""
    if np.ptp(gaps) == 0 or np.ptp(accuracies) == 0:
        return 0.0
    return float(spearmanr(gaps, accuracies).statistic)


def measure(out_dir: Path, settings: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """One training run's value of each claim's statistic, with a short account: {key: (value, details)}."""
    table = structure(out_dir)
    first = table[table["step"] == table["step"].min()].set_index("phase")
    last = table[table["step"] == table["step"].max()].set_index("phase")
    start, end = first.loc["ordered"], last.loc["ordered"]
    opening, final_step = float(end["gap"] - start["gap"]), int(end["step"])
    gaps = [float(last.loc[phase, "gap"]) for phase in PHASES]
    accuracies = [float(last.loc[phase, "test_accuracy"]) for phase in PHASES]
    rho = phase_rank_correlation(gaps, accuracies)
    return {
        "ordered-gap-opens": (opening, (
            f"one run, σ_w² = {end['sigma_w2']:g}, step 0 -> {final_step}: "
            f"Θc/Θd {start['within_ratio']:.3f} -> {end['within_ratio']:.3f}, "
            f"Θn/Θd {start['between_ratio']:.3f} -> {end['between_ratio']:.3f}; "
            f"gap {start['gap']:.3f} -> {end['gap']:.3f} (opened by {opening:.3f})")),
        "gap-accuracy": (rho, (
            "one run, final gap / test accuracy: "
            + "; ".join(f"{phase} {gap:.3f} / {accuracy:.1%}" for phase, gap, accuracy in zip(PHASES, gaps, accuracies))
            + f"; Spearman ρ = {rho:.2f} (with no relation a seed gives ρ = 1 with probability 1/6)")),
    }


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    """One training run of the three phases (one seed: initialisation, training subset, probes) is one
    replicate of both claims (the study trains one per seed)."""
    return [decide(FIGURE_ID, key, [value], scale, details=details)
            for key, (value, details) in measure(out_dir, settings).items()]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: 3 phases x steps x n_train x (d M + L M^2) for Adam, plus the
    probe NTK at every record (P^2 C x parameters, P probes, C classes)."""
    width, depth, classes = settings["width"], settings["depth"], len(settings["classes"])
    n_train = settings["n_train"]
    if n_train is None:
        n_train = TRAIN_IMAGES_PER_CLASS[settings["dataset"]] * classes
    parameters = INPUT_DIMS[settings["dataset"]] * width + (depth - 1) * width**2 + width * classes
    probes = settings["probes_per_class"] * classes
    records = settings["steps"] // settings["record_every"] + 1
    return float(3 * (settings["steps"] * n_train * parameters + records * probes**2 * classes * parameters))
