"""fig-noisy-labels-curve: test accuracy against epoch at one noise level (the lecture's 40%).

Drawn from tab-noisy-labels' training runs (``histories.csv``, copied into this figure's
results by the workflow). Two claims on the replicate-mean test curves: AUX ends within a
tolerance of its best epoch (no early stopping needed), and normal training ends clearly below
its best (it overfits the noisy labels, which is what AUX removes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ntk_study.analysis.noisy_labels import AUX_OF, LABELS, NORMAL, final_minus_best, read_histories
from ntk_study.claims import ClaimResult, check

FIGURE_ID = "fig-noisy-labels-curve"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    histories = read_histories(out_dir)
    noise = settings["noise"]
    aux_gaps = {LABELS[m]: final_minus_best(histories, noise, m) for m in AUX_OF.values()}
    normal_drops = {LABELS[m]: -final_minus_best(histories, noise, m) for m in NORMAL}
    tolerance, margin = settings["final_tolerance"], settings["overfit_margin"]

    def listed(values: dict[str, float]) -> str:
        return ", ".join(f"{name} {value:.1f}" for name, value in values.items())

    return [
        check(FIGURE_ID, "aux-final-near-best", max(-g for g in aux_gaps.values()),
              threshold=f"best - final <= {tolerance:g} points for every AUX method at p = {noise:g}",
              passed=all(-g <= tolerance for g in aux_gaps.values()), scale=scale,
              measured_text=f"best - final (points): {listed({k: -v for k, v in aux_gaps.items()})}"),
        check(FIGURE_ID, "normal-overfits", min(normal_drops.values()),
              threshold=f"best - final >= {margin:g} points for both normal losses at p = {noise:g}",
              passed=all(d >= margin for d in normal_drops.values()), scale=scale,
              measured_text=f"best - final (points): {listed(normal_drops)}"),
    ]


def work(settings: dict[str, Any]) -> float:
    """No compute rule of its own (the runs are tab-noisy-labels')."""
    return 0.0
