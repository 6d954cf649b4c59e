"""fig-random-labels: every condition fitted; true labels fastest, random labels slowest."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimRow, decide

FIGURE_ID = "fig-random-labels"


def steps_to_loss(curves: pd.DataFrame, threshold: float) -> dict[str, float]:
    """First recorded SGD step with training loss <= threshold, per condition (inf if never)."""
    reached = {}
    for condition, rows in curves.groupby("condition", sort=False):
        below = rows[rows["loss"] <= threshold]
        reached[condition] = float(below["step"].iloc[0]) if len(below) else float("inf")
    return reached


def order_margin(steps: dict[str, float]) -> float:
    """How clearly true labels come first and random labels last: the smallest of s_c - s_true and
    s_random - s_c over the middle conditions c, as a fraction of s_random (negative: out of order)."""
    first, last = steps["true labels"], steps["random labels"]
    middle = [s for c, s in steps.items() if c not in ("true labels", "random labels")]
    gaps = [s - first for s in middle] + [last - s for s in middle] + [last - first]
    return float(min(gaps) / last)


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    curves = pd.read_csv(out_dir / "curves.csv")
    threshold = settings["loss_threshold"]
    lowest_accuracy, margins, texts = [], [], []
    for seed, run in curves.groupby("seed"):
        final = run.groupby("condition", sort=False).tail(1).set_index("condition")
        steps = steps_to_loss(run, threshold)
        lowest_accuracy.append(float(final["accuracy"].min()))
        # A condition that never reaches the loss has no step count: the order is then undefined
        # for that replicate, which counts as out of order (margin -1).
        margins.append(order_margin(steps) if all(map(math.isfinite, steps.values())) else -1.0)
        texts.append(f"seed {seed}: " + ", ".join(f"{c} {s:g}" for c, s in sorted(steps.items(), key=lambda i: i[1])))
    return [
        decide(FIGURE_ID, "all-fit", lowest_accuracy, scale,
               details="lowest final training accuracy per seed: " + ", ".join(f"{a:.1%}" for a in lowest_accuracy)),
        decide(FIGURE_ID, "order", margins, scale,
               details=f"steps to loss <= {threshold:g}: " + "; ".join(texts)),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: seeds x 5 conditions x epochs x n images x network size."""
    size = sum(settings["channels"])
    return float(settings["seeds"] * 5 * settings["max_epochs"] * settings["n_train"] * size)
