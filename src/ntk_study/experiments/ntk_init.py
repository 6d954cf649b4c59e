"""fig-ntk-init (Lemma 2): ||H(0) - H*||_2 against the width m.

H(0) is the empirical NTK of the finite stax network (gradients w.r.t. the first layer only);
H* is the analytic kernel of the same stax definition. Lemma 2's Hoeffding argument gives,
with probability at least 1 - delta, ||H(0) - H*||_2 <= n B sqrt(2 log(2 n^2 / delta) / m),
where B bounds |x_i.x_j sigma'(.) sigma'(.)| (B = 1 for ReLU, 4/pi for erf).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from ntk_study.analysis.ntk_init import hoeffding_bound
from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    analytic_first_layer_ntk,
    empirical_first_layer_ntk,
    init_params,
    sphere_points,
    two_layer_model,
)


def run(settings: dict[str, Any], seed: int) -> pd.DataFrame:
    """One row per (input set, activation, width, seed): spectral and Frobenius distances, the bound."""
    enable_float64()
    n, dim = settings["n_points"], settings["input_dim"]
    data_root, init_root = jax.random.split(jax.random.PRNGKey(seed))
    rows = []
    for input_set in range(settings["input_sets"]):
        x = sphere_points(jax.random.fold_in(data_root, input_set), n, dim)
        for activation in settings["activations"]:
            for width in sorted(settings["widths"]):
                rows += _distances_at_width(x, width, activation, input_set, settings,
                                            jax.random.fold_in(init_root, input_set))
    return pd.DataFrame(rows)


def _distances_at_width(x: jax.Array, width: int, activation: str, input_set: int,
                        settings: dict[str, Any], init_root: jax.Array) -> list[dict[str, Any]]:
    n, dim = x.shape
    init_fn, apply_fn, kernel_fn = two_layer_model(width, dim, activation)
    h_star = np.asarray(analytic_first_layer_ntk(kernel_fn, x))
    # Compiled once per width; every initialisation reuses it.
    empirical_ntk = jax.jit(lambda params: empirical_first_layer_ntk(apply_fn, params, x))
    rows = []
    for replicate in range(settings["seeds"]):
        params = init_params(init_fn, jax.random.fold_in(init_root, replicate), dim)
        difference = np.asarray(empirical_ntk(params)) - h_star
        rows.append({
            "activation": activation,
            "input_set": input_set,
            "width": width,
            "replicate": replicate,
            "n_points": n,
            "spectral_distance": float(np.linalg.norm(difference, 2)),
            "frobenius_distance": float(np.linalg.norm(difference, "fro")),
            "h_star_norm": float(np.linalg.norm(h_star, 2)),
            "bound": float(hoeffding_bound(n, width, settings["delta"], activation)),
        })
    return rows


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    save_csv(out_dir / "distances.csv", run(settings, seed))
