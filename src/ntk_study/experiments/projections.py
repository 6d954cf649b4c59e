"""fig-projections-{mnist,cifar} (Arora et al. 2019, Fig. 1 b/d): the spectrum of H* on two-class
data and the projections <v_i, y>^2 of true, random and worst-case labels on its eigenvectors.

Worst-case labels lie along the eigenvector of the smallest eigenvalue, scaled to ||y||^2 = n.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.data.two_class import load_two_class, random_labels
from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import analytic_first_layer_ntk_numpy


def label_sets(y_true: np.ndarray, eigenvectors: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """True, random and worst-case labels; eigenvectors sorted by decreasing eigenvalue."""
    n = len(y_true)
    return {
        "true": y_true,
        "random": random_labels(n, seed + 1),
        "worst": np.sqrt(n) * eigenvectors[:, -1],
    }


def spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (decreasing) and eigenvectors of H* on the rows of x."""
    values, vectors = np.linalg.eigh(analytic_first_layer_ntk_numpy(x))
    return values[::-1], vectors[:, ::-1]


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    tables = []
    # One replicate: a draw of the training images (and of the random labels on them).
    for subset in range(settings["subsets"]):
        subset_seed = seed + 1000 * subset
        data = load_two_class(prepared[settings["dataset"]], settings["n_train"], 1, subset_seed,
                              settings["standardise_inputs"])
        values, vectors = spectrum(data.x_train)
        table = pd.DataFrame({"subset": subset, "index": np.arange(1, len(values) + 1), "eigenvalue": values})
        for name, y in label_sets(data.y_train, vectors, subset_seed).items():
            table[f"projection_{name}"] = (vectors.T @ y) ** 2
        tables.append(table)
    save_csv(out_dir / "spectrum.csv", pd.concat(tables, ignore_index=True))
