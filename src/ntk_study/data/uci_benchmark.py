"""The 90 UCI tasks of Arora et al. (2020) from the prepared ``uci121.npz``, with their splits.

A task is a dataset with at most 5,000 samples and no separate test file. Hyperparameters are
chosen on its ``conxuntos.dat`` train/validation split; accuracy is the mean over the 4
train/test folds of ``conxuntos_kfold.dat``. A run may cap the samples per task
(``max_samples``): a seeded subset of rows is kept and every split is restricted to it, so a
quick run follows the same protocol on fewer rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntk_study.data.errors import DataError
from ntk_study.data.subsets import CappedRows, Split
from ntk_study.data.uci import N_FOLDS

MAX_BENCHMARK_SAMPLES = 5000


@dataclass
class UciTask:
    name: str
    x: np.ndarray  # (m, d) rows kept
    y: np.ndarray  # (m,)
    n_classes: int
    n_samples: int  # before any cap
    validation: Split
    folds: list[Split]


def load_tasks(prepared: Path, max_samples: int | None, seed: int, names: list[str] | None = None) -> list[UciTask]:
    """Benchmark tasks in alphabetical order (only ``names`` if given), rows capped at ``max_samples``."""
    with np.load(prepared) as data:
        available = [str(name) for name in data["names"]]
        selected = [
            name for name in sorted(available)
            if data[f"{name}.x"].shape[0] <= MAX_BENCHMARK_SAMPLES and not bool(data[f"{name}.has_test_file"])
        ]
        if names is not None:
            missing = sorted(set(names) - set(selected))
            if missing:
                raise DataError(f"UCI tasks {missing} are not among the {len(selected)} benchmark datasets of "
                                f"{prepared}; fix the tab-uci 'datasets' setting.")
            selected = [name for name in selected if name in names]
        return [_task(data, name, max_samples, seed) for name in selected]


def _task(data, name: str, max_samples: int | None, seed: int) -> UciTask:
    x, y = data[f"{name}.x"], data[f"{name}.y"]
    rows = CappedRows(len(y), max_samples, seed, name)
    validation = rows.restrict((data[f"{name}.validation_train"], data[f"{name}.validation_test"]))
    folds = [rows.restrict((data[f"{name}.fold{k}_train"], data[f"{name}.fold{k}_test"])) for k in range(N_FOLDS)]
    return UciTask(name, x[rows.kept], y[rows.kept], int(data[f"{name}.n_classes"]), len(y), validation, folds)
