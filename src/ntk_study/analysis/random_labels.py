"""fig-random-labels: every condition fitted; true labels fastest, random labels slowest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimResult, check

FIGURE_ID = "fig-random-labels"


def steps_to_loss(curves: pd.DataFrame, threshold: float) -> dict[str, float]:
    """First recorded SGD step with training loss <= threshold, per condition (inf if never)."""
    reached = {}
    for condition, rows in curves.groupby("condition", sort=False):
        below = rows[rows["loss"] <= threshold]
        reached[condition] = float(below["step"].iloc[0]) if len(below) else float("inf")
    return reached


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    curves = pd.read_csv(out_dir / "curves.csv")
    final = curves.groupby("condition", sort=False).tail(1).set_index("condition")
    minimum_accuracy = settings["fitted_accuracy"]
    steps = steps_to_loss(curves, settings["loss_threshold"])
    others = {c: s for c, s in steps.items() if c not in ("true labels", "random labels")}
    ordered = all(steps["true labels"] <= s <= steps["random labels"] for s in others.values())
    ordered = ordered and steps["true labels"] < steps["random labels"]
    return [
        check(FIGURE_ID, "all-fit", float(final["accuracy"].min()),
              threshold=f"final training accuracy >= {minimum_accuracy:.0%} in every condition",
              passed=bool(final["accuracy"].min() >= minimum_accuracy), scale=scale,
              measured_text="final training accuracy / loss: " + ", ".join(
                  f"{c} {row.accuracy:.1%} / {row.loss:.3f}" for c, row in final.iterrows())),
        check(FIGURE_ID, "order", steps["true labels"],
              threshold=f"steps to loss <= {settings['loss_threshold']:g}: true fewest, random labels most",
              passed=ordered, scale=scale,
              measured_text="steps to loss <= {:g}: ".format(settings["loss_threshold"]) + ", ".join(
                  f"{c} {s:g}" for c, s in sorted(steps.items(), key=lambda item: item[1]))),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: 5 conditions x epochs x n images x network size."""
    size = sum(settings["channels"])
    return float(5 * settings["max_epochs"] * settings["n_train"] * size)
