"""fig-convergence-{mnist,cifar} (Arora et al. 2019, Fig. 1 a/c; Theorem 4).

The two-layer ReLU net (first layer trained, W ~ N(0, kappa^2 I)) trained by full-batch GD with
step eta (c / lambda_max(H*), or the published absolute rate) on true, random and worst-case
labels of the same inputs. Recorded: ||y - u(k)||^2 every few steps, beside Theorem 4's
prediction sum_i exp(-2 eta lambda_i k) <v_i, y>^2 from the eigendecomposition of H*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntk_study.data.two_class import load_two_class
from ntk_study.experiments.projections import label_sets, spectrum
from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import first_layer_function, init_params, step_size, two_layer_model
from ntk_study.training import gradient_descent


def predicted_residual(values: np.ndarray, vectors: np.ndarray, y: np.ndarray, eta: float,
                       steps: np.ndarray) -> np.ndarray:
    """Theorem 4: ||y - u(k)||^2 ~ sum_i exp(-2 eta lambda_i k) <v_i, y>^2 (u(0) ~ 0)."""
    projections = (vectors.T @ y) ** 2
    return np.exp(-2 * eta * np.outer(steps, values)) @ projections


def train_two_layer(x: np.ndarray, y: np.ndarray, settings: dict[str, Any], eta: float, seed: int,
                    record_every: int) -> tuple[Callable, Any, np.ndarray]:
    """Arora et al.'s setup: the two-layer net of ``settings["width"]`` with W ~ N(0, kappa^2 I)
    (kappa = ``settings["init_scale"]``, the same draw for a given seed), its first layer trained by
    ``settings["steps"]`` GD steps. Returns f(W, x), the trained W and the loss every ``record_every``
    steps."""
    init_fn, apply_fn, _ = two_layer_model(settings["width"], x.shape[1], "relu")
    params = init_params(init_fn, jax.random.PRNGKey(seed), x.shape[1], init_scale=settings["init_scale"])
    apply_first, trainable = first_layer_function(apply_fn, params)
    trained, losses = gradient_descent(apply_first, trainable, jnp.asarray(x), jnp.asarray(y), eta,
                                       settings["steps"], record_every=record_every)
    return apply_first, trained, np.asarray(losses)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    data = load_two_class(prepared[settings["dataset"]], settings["n_train"], 1, seed)
    values, vectors = spectrum(data.x_train)
    eta = step_size(settings, values[0])
    steps = np.arange(0, settings["steps"] + 1, settings["record_every"])
    rows = []
    for name, y in label_sets(data.y_train, vectors, seed).items():
        # ||y - u(k)||^2 = 2 L(k)
        measured = 2 * train_two_layer(data.x_train, y, settings, eta, seed, settings["record_every"])[2]
        predicted = predicted_residual(values, vectors, y, eta, steps)
        rows += [{"labels": name, "step": int(k), "eta": eta, "measured": m, "predicted": p}
                 for k, m, p in zip(steps, measured, predicted)]
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))
