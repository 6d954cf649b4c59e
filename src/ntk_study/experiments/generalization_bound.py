"""fig-generalization-bound (Arora et al. 2019, Fig. 2): complexity and test error vs label noise.

For each noise fraction p and each of ``label_draws`` draws, a fraction p of the training labels is
replaced by random labels; the data-dependent complexity sqrt(2 y^T H*^-1 y / n) (the lecture's
bound on the kernel predictor's classification error) is computed from H*, the two-layer net is
trained by GD from the draw's initialisation until 1/2 sum (u - y)^2 is at most
``target_loss_fraction`` of its initial value, and its test error on clean test labels is
measured, beside the test error of the kernel predictor k(x, X) H*^-1 y (GD's limit, u(0) = 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.data.two_class import corrupt_labels, load_two_class
from ntk_study.experiments.convergence import train_two_layer
from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import analytic_first_layer_ntk_numpy, largest_eigenvalue, step_size


def complexity(h_star: np.ndarray, y: np.ndarray) -> float:
    """sqrt(2 y^T H*^-1 y / n)."""
    return float(np.sqrt(2 * y @ np.linalg.solve(h_star, y) / len(y)))


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    rows = []
    for dataset in settings["datasets"]:
        data = load_two_class(prepared[dataset], settings["n_train"], settings["n_test"], seed,
                              settings["standardise_inputs"])
        h_star = analytic_first_layer_ntk_numpy(data.x_train)
        h_test = analytic_first_layer_ntk_numpy(data.x_test, data.x_train)
        lambda_max = largest_eigenvalue(h_star)
        eta = step_size(settings, lambda_max)
        for draw in range(settings["label_draws"]):
            for index, fraction in enumerate(settings["noise_levels"]):
                y, _ = corrupt_labels(data.y_train, fraction, seed + 100 * (draw + 1) + index)
                # Draw j: initialisation seed + j, the same for every noise level.
                apply_first, trained, losses = train_two_layer(
                    data.x_train, y, settings, eta, seed + draw, settings["record_every"], settings["max_steps"],
                    stop_fraction=settings["target_loss_fraction"])
                network_test = np.asarray(apply_first(trained, data.x_test))[:, 0]
                kernel_test = h_test @ np.linalg.solve(h_star, y)
                rows.append({
                    "dataset": dataset, "noise": fraction, "draw": draw, "n_train": len(y),
                    "eta": eta, "lambda_max": lambda_max,
                    "complexity": complexity(h_star, y),
                    "steps": (len(losses) - 1) * settings["record_every"],
                    "final_loss_fraction": float(losses[-1] / losses[0]),
                    "network_test_error": float(np.mean(np.sign(network_test) != data.y_test)),
                    "kernel_test_error": float(np.mean(np.sign(kernel_test) != data.y_test)),
                })
    save_csv(out_dir / "bound.csv", pd.DataFrame(rows))
