"""fig-noisy-labels-curve: test accuracy against epoch at one noise level (the lecture's 40%).

Drawn from tab-noisy-labels' training runs (``histories.csv``, copied into this figure's
results by the workflow). Two claims on each run's test curve, one value per replicate (an
initialisation, a batch order and a draw of the noisy labels, shared by the methods): normal
training overfits the noisy labels (its final accuracy falls clearly below the accuracy at the
epoch a clean validation set would stop it), and AUX and RDI do not (no early stopping needed).
The statistic is "clean stop - final" of ``analysis.noisy_labels``, not the best epoch's
accuracy: that oracle maximum lies above the final epoch by noise alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ntk_study.analysis.noisy_labels import (
    LABELS,
    REGULARISED,
    diverged_text,
    means_text,
    normal_overfits,
    overfit_groups,
    per_run,
    read_histories,
)
from ntk_study.claims import ClaimRow, decide_every, not_testable

FIGURE_ID = "fig-noisy-labels-curve"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    noise = settings["noise"]
    runs = per_run(read_histories(out_dir))
    premise = normal_overfits(FIGURE_ID, runs, noise, scale)
    groups = overfit_groups(runs, REGULARISED, noise)
    if premise.verdict != "holds":
        regularised = not_testable(FIGURE_ID, "regularised-no-overfit", scale,
                                   f"the premise does not hold at this scale: normal training overfits is "
                                   f"{premise.verdict}, so a flat AUX / RDI curve would show nothing")
    elif not groups:
        regularised = not_testable(FIGURE_ID, "regularised-no-overfit", scale,
                                   f"none of {', '.join(LABELS[m] for m in REGULARISED)} ran at p = {noise:g}")
    else:
        regularised = decide_every(FIGURE_ID, "regularised-no-overfit", groups, scale, noun="method",
                                   details=f"clean stop - final at p = {noise:g}, mean over replicates (points): "
                                   + means_text(groups) + diverged_text(runs))
    return [premise, regularised]


def work(settings: dict[str, Any]) -> float:
    """No compute rule of its own (the runs are tab-noisy-labels')."""
    return 0.0
