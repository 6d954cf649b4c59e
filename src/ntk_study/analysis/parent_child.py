"""fig-parent-child: the claims from children.csv, tangent_kernels.npz, paths.csv and sharpness.csv.

- Child error: a child's test error, raw (the spec's "3x lower error"). The excess over the fully
  trained parent (``excess``) is not tested: a ratio of excesses is unbounded when the children
  match or beat the parent (e.g. when it overfits).
- Loss barrier of a path: the largest training loss along it minus the mean of its two ends'.
- Sharpness: the top Hessian eigenvalue of the training loss of the sharp-minimum experiment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.analysis.kernel_velocity import parameter_count
from ntk_study.claims import ClaimRow, Evidence, decide, decide_from
from ntk_study.kernel_dynamics import distance_matrix

FIGURE_ID = "fig-parent-child"


def child_errors(out_dir: Path) -> pd.DataFrame:
    """Per parent epoch: child and parent test error and the child's excess over the final parent."""
    table = pd.read_csv(out_dir / "children.csv").sort_values("parent_epoch")
    return pd.DataFrame({
        "parent_epoch": table["parent_epoch"],
        "child_error": 1 - table["child_test_accuracy"],
        "parent_error": 1 - table["parent_test_accuracy"],
        "excess": table["final_parent_test_accuracy"] - table["child_test_accuracy"],
    }).reset_index(drop=True)


def tangent_distances(out_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(parent epochs, pairwise kernel distances between the children's NTKs)."""
    with np.load(out_dir / "tangent_kernels.npz") as stored:
        return stored["parent_epochs"], distance_matrix(stored["kernels"])


def barriers(out_dir: Path) -> dict[str, float]:
    """Training-loss barrier of each path (line, bezier)."""
    paths = pd.read_csv(out_dir / "paths.csv")
    result = {}
    for name, path in paths.groupby("path"):
        path = path.sort_values("t")
        ends = path["train_loss"].iloc[[0, -1]].mean()
        result[name] = float(path["train_loss"].max() - ends)
    return result


def sharpness_ratios(out_dir: Path) -> dict[str, float]:
    """Sharpness at the end of each continuation over the sharpness at the minimum."""
    table = pd.read_csv(out_dir / "sharpness.csv")
    at_minimum = float(table.loc[table["phase"] == "minimum", "sharpness"].iloc[0])
    ends = table[table["phase"] != "minimum"].sort_values("step").groupby("phase").last()
    return {"minimum": at_minimum, **{phase: float(row["sharpness"]) for phase, row in ends.iterrows()},
            **{f"{phase}_ratio": float(row["sharpness"]) / at_minimum for phase, row in ends.iterrows()},
            **{f"{phase}_test_accuracy": float(row["test_accuracy"]) for phase, row in ends.iterrows()},
            **{f"{phase}_lr": float(row["learning_rate"]) for phase, row in ends.iterrows()},
            **{f"{phase}_limit": float(row["stability_limit"]) for phase, row in ends.iterrows()}}


def _sharpness_text(sharp: dict[str, float], phase: str) -> str:
    return (f"one run: sharpness {sharp['minimum']:.4g} at the minimum -> {sharp[phase]:.4g} after continuing at lr "
            f"{sharp[phase + '_lr']:g} (x{sharp[phase + '_ratio']:.2f}); test accuracy "
            f"{sharp[phase + '_test_accuracy']:.1%}")


def stability_text(sharp: dict[str, float], phase: str) -> str:
    """What linear stability says: GD with heavy-ball momentum at lr eta cannot stay at a minimum whose
    sharpness exceeds 2 (1 + beta) / eta, and is stable at one below it."""
    limit, minimum = sharp[phase + "_limit"], sharp["minimum"]
    where = "above" if minimum > limit else "below"
    forced = ("GD cannot stay there, so leaving is forced by linear stability" if minimum > limit else
              "the minimum is linearly stable at this lr, so staying is forced by linear stability")
    return (f"the minimum's sharpness is {minimum / limit:.0%} of this lr's stability limit {limit:.4g} "
            f"({where}): {forced}")


def remaining_barrier(path_barriers: dict[str, float]) -> float:
    """The Bezier curve's loss barrier as a fraction of the straight line's (1 when the line has none:
    there is no barrier for the curve to remove). Barriers are >= 0 (the path's maximum includes its ends)."""
    line = path_barriers["line"]
    return path_barriers["bezier"] / line if line > 0 else 1.0


def measure(out_dir: Path, settings: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """One run's value of each claim's statistic, with a short account: {key: (value, details)}."""
    errors = child_errors(out_dir).set_index("parent_epoch")
    first, last = errors.index.min(), errors.index.max()
    early_epoch = settings["first_epochs"]
    error = errors["child_error"]
    early_drop = float(error[first] - error[early_epoch])
    later_drop = float(error[early_epoch] - error[last])

    compare = settings["compare_epochs"]
    compare_error = float(error[compare].mean())
    error_ratio = float(error[first]) / compare_error if compare_error > 0 else math.inf
    compare_text = "/".join(f"{epoch:g}" for epoch in compare)
    final_parent_error = 1 - float(pd.read_csv(out_dir / "children.csv")["final_parent_test_accuracy"].iloc[0])

    epochs, distances = tangent_distances(out_dir)
    tangent = float(distances[0, -1])
    angle = math.degrees(math.acos(min(1.0, max(-1.0, 1 - tangent))))
    path_barriers = barriers(out_dir)
    remaining = remaining_barrier(path_barriers)
    sharp = sharpness_ratios(out_dir)
    return {
        "fastest-early": (early_drop - later_drop, (
            f"one parent run: child test error {error[first]:.1%} (t = {first:g}), {error[early_epoch]:.1%} "
            f"(t = {early_epoch:g}), {error[last]:.1%} (t = {last:g}): drop {early_drop:+.1%} by t = "
            f"{early_epoch:g}, {later_drop:+.1%} after")),
        "early-kernel-better": (error_ratio, (
            f"one parent run: child test error {error[first]:.1%} at t = {first:g}, {compare_error:.1%} at t = "
            f"{compare_text}: ratio {error_ratio:.2f} (fully trained parent {final_parent_error:.1%})")),
        "mode-connectivity": (remaining, (
            f"one pair of solutions: training-loss barrier {path_barriers['line']:.3g} on the straight line, "
            f"{path_barriers['bezier']:.3g} on the Bezier curve ({remaining:.2f} of it)")),
        "tangent-moves": (tangent, (
            f"one parent run: S between the probe NTKs at t = {epochs[0]:g} and {epochs[-1]:g}: {tangent:.3f} "
            f"(angle {angle:.0f}°); these are fig-kernel-velocity's checkpoint kernels, so this repeats its "
            "distance from initialisation and adds no independent evidence")),
        "small-lr-stuck": (sharp["small_lr_ratio"],
                           f"{_sharpness_text(sharp, 'small_lr')}; {stability_text(sharp, 'small_lr')}"),
        "large-lr-escapes": (sharp["large_lr_ratio"],
                             f"{_sharpness_text(sharp, 'large_lr')}; {stability_text(sharp, 'large_lr')}"),
    }


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    """One parent run (fig-kernel-velocity's training run) with its children, second solution and
    sharp-minimum run is one replicate of every claim (the study trains one per seed)."""
    rows = []
    for key, (value, details) in measure(out_dir, settings).items():
        if math.isfinite(value):
            rows.append(decide(FIGURE_ID, key, [value], scale, details=details))
        else:  # a child without test errors at compare_epochs: an unbounded ratio, no interval
            rows.append(decide_from(FIGURE_ID, key, Evidence(value, math.nan, math.nan, 1, math.nan), scale,
                                    details=details))
    return rows


def work(settings: dict[str, Any]) -> float:
    """Stated scaling, in parent image passes (images x parameters x pixels of the parent network,
    whose section is ``settings["inputs"]``): each child trains ``child.epochs`` epochs of the
    linearised network (about 3 passes per step), a second network trains like the parent, the
    Bezier control point ``bezier.epochs`` epochs, and the sharp-minimum run takes full-batch GD
    steps and power-iteration Hessian-vector products (about 3 passes each) on ``sharp.n_train``."""
    parent = settings["inputs"]
    per_image = parameter_count(parent["network"]) * parent["image_size"] ** 2
    epochs = 3 * len(settings["parent_epochs"]) * settings["child"]["epochs"] + parent["epochs"] \
        + settings["bezier"]["epochs"]
    sharp = settings["sharp"]
    measurements = 1 + 2 * sharp["continue_steps"] // sharp["measure_every"]
    sharp_passes = sharp["n_train"] * (sharp["steps"] + 2 * sharp["continue_steps"]
                                       + 3 * sharp["power_iterations"] * measurements)
    return float(per_image * (epochs * parent["n_train"] + sharp_passes))
