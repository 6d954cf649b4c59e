"""fig-ntk-stability (Lemma 3; Du et al. 2019b, Fig. 1): during training, the weights, the kernel
and the activation patterns of a wide net barely move.

n points uniform on the sphere in R^d, labels N(0, 1); for each width m, full-batch GD on the
first layer for a fixed number of epochs with the same step size eta = c / lambda_max(H*) for
every width (H* does not depend on m). Recorded: the training loss every epoch, and at the end
max_r ||w_r(t) - w_r(0)||_2, ||H(t) - H(0)||_2 and the fraction of (point, neuron) activation
patterns 1[w_r^T x_i > 0] that changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    activation_patterns,
    analytic_first_layer_ntk,
    empirical_first_layer_ntk,
    first_layer_function,
    init_params,
    largest_eigenvalue,
    sphere_points,
    step_size,
    two_layer_model,
    with_first_layer,
)
from ntk_study.training import gradient_descent


def run(settings: dict[str, Any], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (curves: loss per width, seed and epoch; movement: one row per width and seed)."""
    enable_float64()
    n, dim = settings["n_points"], settings["input_dim"]
    data_key, label_key, init_root = jax.random.split(jax.random.PRNGKey(seed), 3)
    x = sphere_points(data_key, n, dim)
    y = jax.random.normal(label_key, (n,), dtype=x.dtype)
    curve_rows, movement_rows = [], []
    for width in sorted(settings["widths"]):
        init_fn, apply_fn, kernel_fn = two_layer_model(width, dim, "relu")
        eta = step_size(settings, largest_eigenvalue(analytic_first_layer_ntk(kernel_fn, x)))
        first = settings.get("first_replicate", 0)
        for replicate in range(first, first + settings["seeds"]):
            params0 = init_params(init_fn, jax.random.fold_in(init_root, replicate), dim)
            apply_first, trainable0 = first_layer_function(apply_fn, params0)
            trainable, losses = gradient_descent(apply_first, trainable0, x, y, eta, settings["epochs"])
            params_t = with_first_layer(params0, trainable)
            kernel_0, kernel_t = (
                np.asarray(empirical_first_layer_ntk(apply_fn, p, x, batch_size=settings["kernel_batch_size"]))
                for p in (params0, params_t))
            kernel_change = np.linalg.norm(kernel_t - kernel_0, 2)
            # Weights are stored (d, m): column r is w_r.
            weight_change = jnp.linalg.norm(trainable[0] - trainable0[0], axis=0).max()
            patterns_changed = jnp.mean(activation_patterns(params_t, x) != activation_patterns(params0, x))
            curve_rows += [{"width": width, "replicate": replicate, "epoch": epoch, "loss": float(loss)}
                           for epoch, loss in enumerate(np.asarray(losses))]
            movement_rows.append({
                "width": width, "replicate": replicate, "eta": eta, "epochs": settings["epochs"],
                "initial_loss": float(losses[0]), "final_loss": float(losses[-1]),
                "max_weight_change": float(weight_change), "kernel_change": float(kernel_change),
                "pattern_change_fraction": float(patterns_changed),
            })
    return pd.DataFrame(curve_rows), pd.DataFrame(movement_rows)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    curves, movement = run(settings, seed)
    save_csv(out_dir / "loss_curves.csv", curves)
    save_csv(out_dir / "movement.csv", movement)
