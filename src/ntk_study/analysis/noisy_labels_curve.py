"""fig-noisy-labels-curve: test accuracy against epoch at one noise level (the lecture's 40%).

Drawn from tab-noisy-labels' training runs (``histories.csv``, copied into this figure's
results by the workflow). Two claims on each run's test curve, one value per replicate (an
initialisation and batch order, shared by the methods): AUX ends within a tolerance of its best
epoch (no early stopping needed), and normal training ends clearly below its best (it overfits
the noisy labels, which is what AUX removes). "Best" is the best test accuracy over the epochs,
an oracle: on a noisy curve it lies above the final epoch by noise alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ntk_study.analysis.noisy_labels import AUX_OF, LABELS, NORMAL, per_run, read_histories
from ntk_study.claims import ClaimRow, decide_every, not_testable

FIGURE_ID = "fig-noisy-labels-curve"


def best_minus_final(out_dir: Path, noise: float) -> dict[str, list[float]]:
    """Per method run at ``noise``: best minus final-epoch test accuracy (points), one per replicate."""
    runs = per_run(read_histories(out_dir))
    runs = runs[np.isclose(runs["noise"], noise)].sort_values("replicate")
    return {method: (rows["best"] - rows["final"]).to_list() for method, rows in runs.groupby("method")}


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    noise = settings["noise"]
    drops = best_minus_final(out_dir, noise)
    rows = []
    for key, methods, noun in (("aux-final-near-best", AUX_OF.values(), "AUX method"),
                               ("normal-overfits", NORMAL, "loss")):
        groups = {LABELS[m]: drops[m] for m in methods if m in drops}
        if not groups:
            rows.append(not_testable(FIGURE_ID, key, scale, f"none of {', '.join(methods)} ran at p = {noise:g}"))
            continue
        means = ", ".join(f"{name} {np.mean(values):.1f}" for name, values in groups.items())
        rows.append(decide_every(FIGURE_ID, key, groups, scale, noun=noun,
                                 details=f"best - final at p = {noise:g}, mean over seeds (points): {means}"))
    return rows


def work(settings: dict[str, Any]) -> float:
    """No compute rule of its own (the runs are tab-noisy-labels')."""
    return 0.0
