"""fig-parent-child: the claims from children.csv, tangent_kernels.npz, paths.csv and sharpness.csv.

- Child error: a child's test error, raw (the spec's "3x lower error"). The excess over the fully
  trained parent is not tested: a ratio of excesses is unbounded when the children match or beat
  the parent (e.g. when it overfits).
- Tangent space: the kernel distance between the training kernels of a parent's first and last
  child (the children's own kernels, on images other than fig-kernel-velocity's probes).
- Loss barrier of a path: the largest training loss along it minus the mean of its two ends'.
- Sharpness: the top Hessian eigenvalue of the training loss of the sharp-minimum run.
Each parent run with its children is one replicate of the children's claims.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.analysis.kernel_velocity import angle_degrees, parameter_count
from ntk_study.claims import ClaimRow, decide, exact
from ntk_study.kernel_dynamics import distance_matrix

FIGURE_ID = "fig-parent-child"


def child_errors(out_dir: Path) -> pd.DataFrame:
    """Per parent and parent epoch: the child's and the parent's test error, and the kernel distance
    of the child's training kernel to its parent's first child's."""
    table = pd.read_csv(out_dir / "children.csv").sort_values(["replicate", "parent_epoch"])
    return pd.DataFrame({
        "replicate": table["replicate"],
        "parent_epoch": table["parent_epoch"],
        "child_error": 1 - table["child_test_accuracy"],
        "parent_error": 1 - table["parent_test_accuracy"],
        "final_parent_error": 1 - table["final_parent_test_accuracy"],
        "kernel_distance_from_first": table["kernel_distance_from_first"],
    }).reset_index(drop=True)


def tangent_distances(out_dir: Path, replicate: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(parent epochs, pairwise kernel distances between one parent's children's training kernels;
    the first parent's when ``replicate`` is None)."""
    with np.load(out_dir / "tangent_kernels.npz") as stored:
        index = 0 if replicate is None else int(np.flatnonzero(stored["replicates"] == replicate)[0])
        return stored["parent_epochs"], distance_matrix(stored["kernels"][index])


def per_parent(out_dir: Path, settings: dict[str, Any]) -> pd.DataFrame:
    """One row per parent run: its children's errors at the epochs the claims compare, and the
    statistics of fastest-early, early-kernel-better and tangent-moves."""
    rows = []
    for replicate, group in child_errors(out_dir).groupby("replicate"):
        errors = group.set_index("parent_epoch")
        first, last, early = errors.index.min(), errors.index.max(), settings["first_epochs"]
        error = errors["child_error"]
        compare = float(error[settings["compare_epochs"]].mean())
        rows.append({
            "replicate": replicate, "first": first, "last": last, "error_first": float(error[first]),
            "error_early": float(error[early]), "error_last": float(error[last]), "error_compare": compare,
            "early_drop": float(error[first] - error[early]), "later_drop": float(error[early] - error[last]),
            "error_ratio": float(error[first]) / compare if compare > 0 else math.inf,
            "tangent_distance": float(errors["kernel_distance_from_first"][last]),
            "final_parent_error": float(errors["final_parent_error"].iloc[0]),
        })
    table = pd.DataFrame(rows)
    return table.assign(fastest_early=table["early_drop"] - table["later_drop"])


def barriers(out_dir: Path) -> pd.DataFrame:
    """Per pair of solutions: the training-loss barrier of the line and of the Bezier curve, and the
    fraction of the line's that the curve leaves (``remaining_barrier``)."""
    paths = pd.read_csv(out_dir / "paths.csv")
    rows = []
    for pair, pair_paths in paths.groupby("pair"):
        row = {"pair": pair}
        for name, path in pair_paths.groupby("path"):
            path = path.sort_values("t")
            row[name] = float(path["train_loss"].max() - path["train_loss"].iloc[[0, -1]].mean())
        rows.append({**row, "remaining": remaining_barrier(row)})
    return pd.DataFrame(rows)


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


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    """Replicates: the parent runs (fig-kernel-velocity's), each with its children, for the children's
    claims; the pairs of solutions for mode connectivity; the sharp-minimum run's two rows are
    illustrations (one run, outcome forced by linear stability), not evidence."""
    parents = per_parent(out_dir, settings)
    if not np.all(np.isfinite(parents["error_ratio"])):
        raise ValueError(f"a child at compare_epochs {settings['compare_epochs']} has zero test error: "
                         "the error ratio has no bound")
    n, first, last, early = len(parents), parents["first"].iloc[0], parents["last"].iloc[0], settings["first_epochs"]
    compare = "/".join(f"{epoch:g}" for epoch in settings["compare_epochs"])
    listed = ", ".join

    def percent(column: str) -> str:
        return listed(f"{value:.1%}" for value in parents[column])

    pairs = barriers(out_dir)
    sharp = sharpness_ratios(out_dir)
    return [
        decide(FIGURE_ID, "fastest-early", parents["fastest_early"].tolist(), scale, details=(
            f"{n} parent runs: child test error {percent('error_first')} (t = {first:g}), {percent('error_early')} "
            f"(t = {early:g}), {percent('error_last')} (t = {last:g})")),
        decide(FIGURE_ID, "early-kernel-better", parents["error_ratio"].tolist(), scale, details=(
            f"{n} parent runs: child test error {percent('error_first')} at t = {first:g}, "
            f"{percent('error_compare')} at t = {compare}: ratios {listed(f'{v:.2f}' for v in parents['error_ratio'])} "
            f"(fully trained parents {percent('final_parent_error')})")),
        decide(FIGURE_ID, "mode-connectivity", pairs["remaining"].tolist(), scale, details=(
            f"{len(pairs)} pairs of solutions: training-loss barrier "
            f"{listed(f'{v:.3g}' for v in pairs['line'])} on the straight line, "
            f"{listed(f'{v:.3g}' for v in pairs['bezier'])} on the Bezier curve "
            f"({listed(f'{v:.2f}' for v in pairs['remaining'])} of it)")),
        decide(FIGURE_ID, "tangent-moves", parents["tangent_distance"].tolist(), scale, details=(
            f"{n} parent runs: S between the training kernels of the children at t = {first:g} and {last:g}: "
            + listed(f"{d:.3f} ({angle_degrees(d):.0f}°)" for d in parents["tangent_distance"]))),
        exact(FIGURE_ID, "small-lr-stuck", sharp["small_lr_ratio"], sharp["small_lr_ratio"] > SMALL_LR_STAYS,
              scale, details=f"{_sharpness_text(sharp, 'small_lr')}; {stability_text(sharp, 'small_lr')}"),
        exact(FIGURE_ID, "large-lr-escapes", sharp["large_lr_ratio"], sharp["large_lr_ratio"] < LARGE_LR_LEAVES,
              scale, details=f"{_sharpness_text(sharp, 'large_lr')}; {stability_text(sharp, 'large_lr')}"),
    ]


# The illustrations' conditions (the catalogue states them): the sharpness after continuing, as a
# fraction of the minimum's.
SMALL_LR_STAYS, LARGE_LR_LEAVES = 0.8, 0.5


def work(settings: dict[str, Any]) -> float:
    """Stated scaling, in parent image passes (images x parameters x pixels of the parent network,
    whose section is ``settings["inputs"]``): per parent and spawning epoch, a child's Jacobians
    (one pass per logit for each of its training and test images) and its kernel (training x all
    images x logits x parameters); a second network trained like a parent; the Bezier control
    point ``bezier.epochs`` epochs; the sharp-minimum run's full-batch GD steps and power-iteration
    Hessian-vector products (about 3 passes each) on ``sharp.n_train``."""
    parent = settings["inputs"]
    parameters = parameter_count(parent["network"])
    per_image = parameters * parent["image_size"] ** 2
    child = settings["child"]
    images = child["n_train"] + child["n_test"]
    children = len(parent["parent_replicates"]) * len(settings["parent_epochs"]) * (
        10 * images * per_image + child["n_train"] * images * 10 * parameters)
    epochs = parent["epochs"] + settings["bezier"]["epochs"]
    sharp = settings["sharp"]
    measurements = 1 + 2 * sharp["continue_steps"] // sharp["measure_every"]
    sharp_passes = sharp["n_train"] * (sharp["steps"] + 2 * sharp["continue_steps"]
                                       + 3 * sharp["power_iterations"] * measurements)
    return float(children + per_image * (epochs * parent["n_train"] + sharp_passes))
