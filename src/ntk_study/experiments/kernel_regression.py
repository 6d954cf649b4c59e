"""fig-kernel-regression: a wide network trained by GD is the NTK predictor.

Part 1 (the lecture's equivalence). The two-layer net, first layer trained by full-batch GD with
step eta on the lecture's loss, initialised with f(x, 0) = 0 (paired neurons with opposite
readout signs). Its predictions on held-out points after k steps are compared with the NTK
predictor f(x, t) = k(x, X) H*^-1 (I - exp(-t H*)) y at t = eta k, computed by neural-tangents'
``predict.gradient_descent_mse`` from H* of the same stax model (and at t -> infinity, kernel
regression). neural-tangents normalises its loss by the number of outputs N, so its time is N t.

Part 2 (Jacot et al. 2018, Fig. 1). A depth-4 ReLU net on inputs x(gamma) = (cos gamma, sin gamma):
the empirical NTK Theta(x_0, x(gamma)), x_0 = (1, 0), with respect to all parameters, at
initialisation and after training, for a narrow and a wide width over several initialisations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd
from neural_tangents import stax

from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    analytic_first_layer_ntk,
    first_layer_function,
    init_params,
    largest_eigenvalue,
    sphere_points,
    step_size,
    two_layer_model,
)
from ntk_study.training import gradient_descent


def ntk_predictor(h_train: jax.Array, h_test_train: jax.Array, y: jax.Array, times: list[float | None]) -> np.ndarray:
    """f(x_test, t) for zero initial outputs under du/dt = -H(u - y); t = None is t -> infinity.

    Returns an array (len(times), n_test).
    """
    predict = nt.predict.gradient_descent_mse(h_train, y[:, None], learning_rate=1.0)
    n_outputs = y.size
    out = []
    for t in times:
        if t is None:
            fx = predict(None, 0.0, 0.0, h_test_train)[1]
        else:
            fx = predict(n_outputs * t, 0.0, 0.0, h_test_train)[1]
        out.append(np.asarray(fx)[:, 0])
    return np.stack(out)


def run_equivalence(settings: dict[str, Any], seed: int) -> pd.DataFrame:
    """One row per (width, seed, time, test point): network and NTK predictions."""
    enable_float64()
    n, n_test, dim = settings["n_train"], settings["n_test"], settings["input_dim"]
    data_key, label_key, init_root = jax.random.split(jax.random.PRNGKey(seed), 3)
    points = sphere_points(data_key, n + n_test, dim)
    x, x_test = points[:n], points[n:]
    y = jax.random.rademacher(label_key, (n,), dtype=points.dtype)
    _, _, kernel_fn = two_layer_model(2, dim, "relu")  # H* does not depend on the width
    h_train = analytic_first_layer_ntk(kernel_fn, x)
    h_test_train = analytic_first_layer_ntk(kernel_fn, x_test, x)
    eta = step_size(settings, largest_eigenvalue(h_train))
    steps = sorted(settings["steps"])
    kernel_predictions = ntk_predictor(h_train, h_test_train, y, [eta * k for k in steps] + [None])
    rows = []
    for width in sorted(settings["widths"]):
        init_fn, apply_fn, _ = two_layer_model(width, dim, "relu")
        for replicate in range(settings["seeds"]):
            params = init_params(init_fn, jax.random.fold_in(init_root, replicate), dim, zero_output=True)
            apply_first, trainable = first_layer_function(apply_fn, params)
            done = 0
            for index, k in enumerate(steps):
                segment = k - done  # steps are sorted and distinct, so segment >= 1
                trainable, _ = gradient_descent(apply_first, trainable, x, y, eta, segment, record_every=segment)
                done = k
                network = np.asarray(apply_first(trainable, x_test))[:, 0]
                rows += [{"width": width, "replicate": replicate, "step": k, "time": eta * k, "point": i,
                          "network": float(net), "ntk": float(ker), "kernel_regression": float(inf)}
                         for i, (net, ker, inf) in enumerate(zip(network, kernel_predictions[index],
                                                                 kernel_predictions[-1]))]
    return pd.DataFrame(rows)


def deep_model(width: int, depth: int):
    layers = []
    for _ in range(depth - 1):
        layers += [stax.Dense(width, W_std=np.sqrt(2.0), b_std=0.1), stax.Relu()]
    return stax.serial(*layers, stax.Dense(1, W_std=np.sqrt(2.0), b_std=0.1))


def circle(angles: jax.Array) -> jax.Array:
    """Points (cos gamma, sin gamma) of the unit circle."""
    return jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)


def run_kernel_movement(settings: dict[str, Any], seed: int) -> pd.DataFrame:
    """Theta(x_0, x(gamma)) before and after training, per width and initialisation."""
    enable_float64()
    depth, n_train = settings["depth"], settings["n_train"]
    angle_key, label_key, init_root = jax.random.split(jax.random.PRNGKey(seed + 1), 3)
    x_train = circle(jax.random.uniform(angle_key, (n_train,), minval=-np.pi, maxval=np.pi))
    y_train = jax.random.normal(label_key, (n_train,), dtype=x_train.dtype)
    gammas = np.linspace(-np.pi, np.pi, settings["n_angles"])
    x_probe, x_zero = circle(jnp.asarray(gammas)), circle(jnp.zeros(1))
    rows = []
    for width in settings["widths"]:
        init_fn, apply_fn, kernel_fn = deep_model(width, depth)
        limit = np.asarray(kernel_fn(x_zero, x_probe, "ntk"))[0]
        eta = step_size(settings, largest_eigenvalue(kernel_fn(x_train, None, "ntk")))
        ntk_fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0,
                                             implementation=nt.NtkImplementation.NTK_VECTOR_PRODUCTS))
        for replicate in range(settings["seeds"]):
            _, params = init_fn(jax.random.fold_in(init_root, replicate), x_train.shape)
            before = np.asarray(ntk_fn(x_zero, x_probe, params))[0]
            trained, _ = gradient_descent(apply_fn, params, x_train, y_train, eta, settings["steps"],
                                          record_every=settings["steps"])
            after = np.asarray(ntk_fn(x_zero, x_probe, trained))[0]
            rows += [{"width": width, "replicate": replicate, "gamma": g, "before": b, "after": a,
                      "limit": lim, "eta": eta, "steps": settings["steps"]}
                     for g, b, a, lim in zip(gammas, before, after, limit)]
    return pd.DataFrame(rows)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    save_csv(out_dir / "predictions.csv", run_equivalence(settings["equivalence"], seed))
    save_csv(out_dir / "kernel_movement.csv", run_kernel_movement(settings["kernel_movement"], seed))
