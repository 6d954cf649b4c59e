"""Hyperparameter selection on one split, accuracy on others (the UCI and graph protocols).

A classifier is a function ``fit_score(candidate, train, test) -> accuracy`` over row indices;
candidates are hyperparameter dicts tried in grid order (ties keep the first, see ``first_best``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Split = tuple[np.ndarray, np.ndarray]
FitScore = Callable[[dict[str, Any], np.ndarray, np.ndarray], float]


@dataclass
class Selection:
    best: dict[str, Any]
    selection_accuracy: float  # on the selection split
    test_accuracies: list[float]  # one per evaluation split, with ``best``

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.test_accuracies))


def grid_scores(fit_score: FitScore, candidates: Sequence[dict[str, Any]], split: Split) -> list[float]:
    return [fit_score(candidate, *split) for candidate in candidates]


def first_best(scores: Sequence[float]) -> int:
    """Index of the best score, the first one on ties: the reference codes' ``if acc > best_acc``
    scan over the grid in order (np.argmax also returns the first maximum)."""
    return int(np.argmax(scores))


def select_then_evaluate(fit_score: FitScore, candidates: Sequence[dict[str, Any]], selection_split: Split,
                         evaluation_splits: Sequence[Split]) -> Selection:
    """Pick the candidate with the best accuracy on ``selection_split``; report it on every evaluation split."""
    scores = grid_scores(fit_score, candidates, selection_split)
    best = first_best(scores)
    tests = [fit_score(candidates[best], *split) for split in evaluation_splits]
    return Selection(dict(candidates[best]), float(scores[best]), tests)


def expand_grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """All combinations of the named axes, the last axis varying fastest."""
    grid: list[dict[str, Any]] = [{}]
    for name, values in axes.items():
        grid = [{**point, name: value} for point in grid for value in values]
    return grid
