"""fig-convergence-{mnist,cifar} (Arora et al. 2019, Fig. 1 a/c; Theorem 4).

The two-layer ReLU net (first layer trained) trained by full-batch GD on 1/2 sum (u - y)^2 with
step eta = c / lambda_max(H*) (c < 2: stable), from a symmetric initialisation (u(0) = 0 exactly,
the condition the theorem's small kappa stands for) on true, random and worst-case labels of the
same inputs, each from ``runs`` initialisations (the random labels: a new draw per run), at every
width of ``widths``. Recorded: ||y - u(k)||^2 every few steps, beside Theorem 4's prediction
sum_i (1 - eta lambda_i)^(2k) <v_i, y>^2 from the eigendecomposition of H* (``predicted``), and the
same prediction from the run's own initial kernel H(0) (``predicted_initial``). The gap to the H*
prediction holds both finite-width effects, H(0) != H* and H(t) moving during training; the gap to
the H(0) prediction only the second.
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
from ntk_study.kernels.two_layer import (
    first_layer_function,
    init_params,
    relu_first_layer_ntk_from_patterns,
    step_size,
    two_layer_model,
)
from ntk_study.training import as_float32, full_batch_gd_fn, squared_loss


def predicted_residual(values: np.ndarray, vectors: np.ndarray, y: np.ndarray, eta: float,
                       steps: np.ndarray) -> np.ndarray:
    """Theorem 4 (Arora et al. 2019, Thm 4.1, u(0) = 0): ||y - u(k)||^2 ~ sum_i (1 - eta lambda_i)^(2k)
    <v_i, y>^2, the lecture's sum_i exp(-2 lambda_i t) <v_i, y>^2 at t = eta k for GD's discrete steps."""
    projections = (vectors.T @ y) ** 2
    return np.power(1 - eta * values[None, :], 2 * np.asarray(steps)[:, None]) @ projections


def initial_network(settings: dict[str, Any], dim: int, seed: int) -> tuple[Callable, Any]:
    """``apply_fn`` and the initial parameters of the two-layer net of ``settings["width"]``:
    W ~ N(0, kappa^2 I) (kappa = ``settings["init_scale"]``; with ``settings["symmetric_init"]`` the
    second half of the neurons mirrors the first, so u(0) = 0)."""
    init_fn, apply_fn, _ = two_layer_model(settings["width"], dim, "relu")
    params = init_params(init_fn, jax.random.PRNGKey(seed), dim, zero_output=settings["symmetric_init"],
                         init_scale=settings["init_scale"])
    return apply_fn, params


def initial_kernel(x: np.ndarray, settings: dict[str, Any], seed: int) -> np.ndarray:
    """H(0) of the network ``train_two_layer`` starts from with this seed, in float64."""
    return relu_first_layer_ntk_from_patterns(initial_network(settings, x.shape[1], seed)[1], x)


def train_two_layer(x: np.ndarray, y: np.ndarray, settings: dict[str, Any], eta: float, seed: int,
                    record_every: int, steps: int, stop_fraction: float = 0.0) -> tuple[Callable, Any, np.ndarray]:
    """Arora et al.'s setup: the two-layer net of ``initial_network``, its first layer trained by GD
    with step ``eta`` for
    ``steps`` steps, or until 1/2 sum (u - y)^2 is at most ``stop_fraction`` of its initial value
    (checked every ``record_every`` steps). Returns f(W, x), the trained W and the loss every
    ``record_every`` steps (entry 0 at initialisation).

    The gradient x^T (...) keeps W(k) - W(0) in the span of the training inputs, so GD runs on W's
    coordinates in an orthonormal basis Q of that span (min(n, d) of them, in float32) and
    W(k) = W(0) + Q (W~(k) - Q^T W(0)) is the d-dimensional iterate: the same trajectory at
    n/d of the cost.
    """
    width, dim = settings["width"], x.shape[1]
    apply_fn, params = initial_network(settings, dim, seed)
    apply_first, (w0, bias) = first_layer_function(apply_fn, params)
    basis = np.linalg.qr(x.T)[0]
    reduced_apply, _ = first_layer_function(two_layer_model(width, basis.shape[1], "relu")[1], as_float32(params))
    start = as_float32((basis.T @ np.asarray(w0), bias))
    data = (jnp.asarray(x @ basis, jnp.float32), jnp.asarray(y, jnp.float32))
    block = full_batch_gd_fn(lambda p, xs, ys: squared_loss(reduced_apply, p, xs, ys), float(eta), record_every,
                             record_every)
    current, losses = start, [float(squared_loss(reduced_apply, start, *data))]
    for _ in range(steps // record_every):
        current, values = block(current, *data)
        losses.append(float(values[-1]))
        if losses[-1] <= stop_fraction * losses[0]:
            break
    trained = (np.asarray(w0) + basis @ np.asarray(current[0] - start[0], np.float64), bias)
    return apply_first, trained, np.asarray(losses)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    data = load_two_class(prepared[settings["dataset"]], settings["n_train"], 1, seed, settings["standardise_inputs"])
    values, vectors = spectrum(data.x_train)
    eta = step_size(settings, values[0])
    every = settings["record_every"]
    steps = np.arange(0, settings["steps"] + 1, every)
    rows = []
    for width in settings["widths"]:
        net = {**settings, "width": width}
        first = settings.get("first_run", 0)
        for run in range(first, first + settings["runs"]):
            # Run r: initialisation seed + r at every width; its random labels are the r-th draw.
            own_values, own_vectors = np.linalg.eigh(initial_kernel(data.x_train, net, seed + run))
            for name, y in label_sets(data.y_train, vectors, seed + run).items():
                # ||y - u(k)||^2 = 2 L(k)
                measured = 2 * train_two_layer(data.x_train, y, net, eta, seed + run, every, settings["steps"])[2]
                predicted = predicted_residual(values, vectors, y, eta, steps)
                predicted_initial = predicted_residual(own_values, own_vectors, y, eta, steps)
                rows += [{"labels": name, "width": width, "run": run, "step": int(k), "eta": eta,
                          "lambda_max": values[0], "measured": m, "predicted": p, "predicted_initial": q}
                         for k, m, p, q in zip(steps, measured, predicted, predicted_initial)]
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))
