"""fig-lemma1-dynamics (Lemma 1): du/dt = -H(t)(u - y) along gradient descent.

For each step size eta, GD on the first layer of the lecture's two-layer net; at every step k the
measured change u(k+1) - u(k) of the training outputs is compared with the prediction
-eta H(k)(u(k) - y), H(k) the empirical NTK at that step. The mismatch is the second-order term of
the Taylor expansion, so the relative error should shrink linearly with eta.
Step sizes are given as multiples c of 1/lambda_max(H*): eta = c / lambda_max(H*).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    analytic_first_layer_ntk,
    empirical_first_layer_ntk,
    first_layer_function,
    init_params,
    largest_eigenvalue,
    sphere_points,
    two_layer_model,
    with_first_layer,
)
from ntk_study.training import gd_step_fn


def run(settings: dict[str, Any], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (errors: one row per seed, step size and step; pairs: measured vs predicted
    output changes at the first step, for the scatter panel)."""
    enable_float64()
    n, dim, width = settings["n_points"], settings["input_dim"], settings["width"]
    init_fn, apply_fn, kernel_fn = two_layer_model(width, dim, "relu")
    error_rows, pair_rows = [], []
    for replicate in range(settings["seeds"]):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), replicate)
        data_key, label_key, init_key = jax.random.split(key, 3)
        x = sphere_points(data_key, n, dim)
        y = jax.random.rademacher(label_key, (n,), dtype=x.dtype)
        lambda_max = largest_eigenvalue(analytic_first_layer_ntk(kernel_fn, x))
        params0 = init_params(init_fn, init_key, dim)
        apply_first, _ = first_layer_function(apply_fn, params0)
        kernel_at = jax.jit(
            lambda trainable: empirical_first_layer_ntk(apply_fn, with_first_layer(params0, trainable), x))
        for multiple in settings["step_sizes"]:
            eta = multiple / lambda_max
            step = gd_step_fn(apply_first, eta)
            trainable = params0[0]
            u = np.asarray(apply_first(trainable, x))[:, 0]
            for k in range(settings["steps"]):
                predicted = -eta * np.asarray(kernel_at(trainable)) @ (u - np.asarray(y))
                trainable = step(trainable, x, y)
                u_next = np.asarray(apply_first(trainable, x))[:, 0]
                measured = u_next - u
                error_rows.append({
                    "replicate": replicate, "step_size_multiple": multiple, "eta": eta, "step": k,
                    "relative_error": float(np.linalg.norm(measured - predicted) / np.linalg.norm(predicted)),
                })
                if k == 0 and replicate == 0:
                    pair_rows += [{"step_size_multiple": multiple, "measured": m, "predicted": p}
                                  for m, p in zip(measured, predicted)]
                u = u_next
    return pd.DataFrame(error_rows), pd.DataFrame(pair_rows)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    errors, pairs = run(settings, seed)
    save_csv(out_dir / "errors.csv", errors)
    save_csv(out_dir / "output_changes.csv", pairs)
