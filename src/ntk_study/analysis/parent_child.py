"""fig-parent-child: the claims from children.csv, tangent_kernels.npz, paths.csv and sharpness.csv.

- Child error excess: a child's test error minus the test error of the parent at the end of its
  training (the fully trained network), so 0 means "as good as full training".
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
from ntk_study.claims import ClaimResult, check
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
    return (f"sharpness {sharp['minimum']:.1f} at the minimum -> {sharp[phase]:.1f} after continuing at lr "
            f"{sharp[phase + '_lr']:g} (stability limit {sharp[phase + '_limit']:.0f}); test accuracy "
            f"{sharp[phase + '_test_accuracy']:.1%}")


def _ratio_text(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    errors = child_errors(out_dir).set_index("parent_epoch")
    first, last = errors.index.min(), errors.index.max()
    early_epoch = settings["first_epochs"]
    total_drop = errors.loc[first, "child_error"] - errors.loc[last, "child_error"]
    early_drop = errors.loc[first, "child_error"] - errors.loc[early_epoch, "child_error"]
    drop_fraction = early_drop / total_drop if total_drop > 0 else float("nan")

    compare = settings["compare_epochs"]
    excess_start = float(errors.loc[first, "excess"])
    excess_compare = float(errors.loc[compare, "excess"].mean())
    if excess_compare > 0:
        excess_ratio = excess_start / excess_compare
    else:
        excess_ratio = math.inf if excess_start > 0 else float("nan")
    compare_text = "/".join(f"{epoch:g}" for epoch in compare)

    epochs, distances = tangent_distances(out_dir)
    tangent = float(distances[0, -1])
    path_barriers = barriers(out_dir)
    connectivity = path_barriers["bezier"] / path_barriers["line"] if path_barriers["line"] > 0 else float("nan")
    sharp = sharpness_ratios(out_dir)
    return [
        check(FIGURE_ID, "fastest-early", drop_fraction,
              threshold=(f"child error drop from t = {first:g} to t = {early_epoch:g} epochs >= "
                         f"{settings['drop_fraction']:g} of the drop from t = {first:g} to t = {last:g}"),
              passed=bool(drop_fraction >= settings["drop_fraction"]), scale=scale,
              measured_text=(f"child test error {errors.loc[first, 'child_error']:.1%} (t = {first:g}), "
                             f"{errors.loc[early_epoch, 'child_error']:.1%} (t = {early_epoch:g}), "
                             f"{errors.loc[last, 'child_error']:.1%} (t = {last:g}): "
                             f"{drop_fraction:.2f} of the drop by epoch {early_epoch:g}")),
        check(FIGURE_ID, "early-kernel-better", excess_ratio,
              threshold=(f"excess at t = 0 >= {settings['excess_ratio']:g} x the mean excess at t = {compare_text} "
                         "(excess: child test error - fully trained network's)"),
              passed=bool(excess_start > 0 and excess_ratio >= settings["excess_ratio"]), scale=scale,
              measured_text=(f"child error excess over the trained network: {excess_start:.1%} at t = 0, "
                             f"{excess_compare:.1%} at t = {compare_text}: ratio {_ratio_text(excess_ratio)}")),
        check(FIGURE_ID, "mode-connectivity", connectivity,
              threshold=(f"line barrier > 0 and Bezier barrier <= {settings['connectivity_fraction']:g} x line "
                         "barrier (training loss)"),
              passed=bool(path_barriers["line"] > 0 and connectivity <= settings["connectivity_fraction"]),
              scale=scale,
              measured_text=(f"training-loss barrier: straight line {path_barriers['line']:.3f}, "
                             f"Bezier curve {path_barriers['bezier']:.3f} (ratio {connectivity:.2f})")),
        check(FIGURE_ID, "tangent-moves", tangent,
              threshold=(f"kernel distance S(t = {epochs[0]:g}, t = {epochs[-1]:g}) >= "
                         f"{settings['tangent_distance']:g}"),
              passed=tangent >= settings["tangent_distance"], scale=scale,
              measured_text=(f"S between the children's NTKs at t = {epochs[0]:g} and {epochs[-1]:g}: {tangent:.3f} "
                             f"(angle {math.degrees(math.acos(1 - tangent)):.0f}°)")),
        check(FIGURE_ID, "small-lr-stuck", sharp["small_lr_ratio"],
              threshold=f"sharpness after the small-lr continuation >= {settings['stays_fraction']:g} x at the minimum",
              passed=sharp["small_lr_ratio"] >= settings["stays_fraction"], scale=scale,
              measured_text=_sharpness_text(sharp, "small_lr")),
        check(FIGURE_ID, "large-lr-escapes", sharp["large_lr_ratio"],
              threshold=f"sharpness after the large-lr continuation <= {settings['escape_fraction']:g} x the minimum's",
              passed=sharp["large_lr_ratio"] <= settings["escape_fraction"], scale=scale,
              measured_text=_sharpness_text(sharp, "large_lr")),
    ]


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
