"""fig-aux-is-ridge (Theorem 5, Hu, Li and Yu 2020): AUX and RDI training are kernel ridge regression.

The chapter-3 two-layer ReLU net f(W, x) = m^(-1/2) sum_r a_r relu(w_r^T x), first layer trained,
symmetric initialisation (paired neurons with opposite readout signs, so f(x, 0) = 0 for every x),
on the first two classes of MNIST with a fraction p of the training labels flipped. Two trainings
from the same initialisation, both by full-batch GD with step eta = c / (lambda_max(H*) + lambda):

* AUX: (W, b) jointly on 1/2 sum_i (f(W, x_i) + sqrt(lambda) b_i - y~_i)^2 from b(0) = 0;
  the test outputs are f(W, x) (b is dropped);
* RDI: W on 1/2 sum_i (f(W, x_i) - y~_i)^2 + lambda/2 ||W - W(0)||^2.

Linearised, both are GD with the kernel H + lambda I and converge to
k(x, X)(H + lambda I)^-1 (y~ - u(0)) + f(x, 0), which for u(0) = 0 = f(., 0) and H = H* is the
kernel ridge predictor k(x, X)(H* + lambda I)^-1 y~, with H* and k from neural-tangents' analytic
kernel of the same stax model. Written: the network's and the ridge predictor's outputs on clean
test points per method, width and initialisation, and per run the training diagnostics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntk_study.data.two_class import load_two_class
from ntk_study.io import save_csv
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    analytic_first_layer_ntk_numpy,
    init_params,
    largest_eigenvalue,
    step_size,
    two_layer_model,
    with_first_layer,
)
from ntk_study.noisy_labels import aux_squared_loss, rdi_penalty, ridge_predictor, symmetric_label_noise
from ntk_study.training import full_batch_gd_fn, squared_loss

DATASET = "mnist"
METHODS = ("AUX", "RDI")


def flip_signs(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """+-1 labels with round(fraction * n) of them, chosen uniformly, flipped (two classes:
    the only wrong class is the other one). Returns the noisy labels and the flipped indices."""
    classes = (np.asarray(y) < 0).astype(int)  # +1 -> class 0, -1 -> class 1
    noisy, flipped = symmetric_label_noise(classes, fraction, 2, np.random.default_rng(seed))
    return np.where(noisy == 0, 1.0, -1.0), flipped


def ridge_lambda(h_train: np.ndarray, multiple: float) -> float:
    """lambda = ``multiple`` x the mean diagonal of H* (1/2 for unit-norm inputs)."""
    return float(multiple * np.mean(np.diag(h_train)))


def objective(method: str, apply_fn: Callable, lam: float) -> Callable[..., jax.Array]:
    """``method``'s training objective as a function of (trainable, initial parameters, x, y~):
    the trainable part is (W, b) for AUX and W for RDI; the readout stays at its initial value."""
    def network(w: Any, initial: Any, x: jax.Array) -> jax.Array:
        return apply_fn(with_first_layer(initial, w), x)

    if method == "AUX":
        return lambda p, initial, x, y: aux_squared_loss(network(p[0], initial, x)[:, 0], p[1], y, lam)
    if method == "RDI":
        return lambda w, initial, x, y: (squared_loss(lambda v, z: network(v, initial, z), w, x, y)
                                         + rdi_penalty(w, initial[0], lam))
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def gradient_norm_fn(loss: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """Jitted (params, *data) -> ||grad_params loss(params, *data)||."""
    def norm(params: Any, *data: Any) -> jax.Array:
        leaves = jax.tree_util.tree_leaves(jax.grad(loss)(params, *data))
        return jnp.sqrt(sum(jnp.sum(g**2) for g in leaves))

    return jax.jit(norm)


class Trainer:
    """GD on one method's objective for one width, compiled once and reused for every
    initialisation: ``steps`` steps in two halves, so the test outputs' change over the second half
    shows how far from convergence the run stopped."""

    def __init__(self, method: str, apply_fn: Callable, lam: float, eta: float, steps: int):
        if steps % 2:
            raise ValueError("steps must be even (training runs in two halves)")
        self.method = method
        self.loss = objective(method, apply_fn, lam)
        self.half = full_batch_gd_fn(self.loss, eta, steps // 2, record_every=steps // 2)
        self.gradient_norm = gradient_norm_fn(self.loss)
        self.outputs = jax.jit(lambda w, initial, x: apply_fn(with_first_layer(initial, w), x)[:, 0])

    def __call__(self, params: Any, x: jax.Array, y: jax.Array, x_test: jax.Array) -> tuple[np.ndarray, dict]:
        """Train from the initial ``params`` (b(0) = 0 for AUX); return the test outputs f(W, x_test)
        and the diagnostics: objective and gradient norm at the start and end, and the RMS change
        of the test outputs over the second half of training."""
        start = (params[0], jnp.zeros(x.shape[0], dtype=x.dtype)) if self.method == "AUX" else params[0]
        middle, first_values = self.half(start, params, x, y)
        end, last_values = self.half(middle, params, x, y)

        def outputs(trained: Any) -> np.ndarray:
            return np.asarray(self.outputs(trained[0] if self.method == "AUX" else trained, params, x_test))

        network = outputs(end)
        return network, {
            "objective_start": float(first_values[0]), "objective_end": float(last_values[-1]),
            "grad_norm_start": float(self.gradient_norm(start, params, x, y)),
            "grad_norm_end": float(self.gradient_norm(end, params, x, y)),
            "rms_change_second_half": rms(network, outputs(middle)),
        }


def linearised_after(h_train: np.ndarray, h_test_train: np.ndarray, y: np.ndarray, lam: float, eta: float,
                     steps: int) -> np.ndarray:
    """Test outputs of the linearised model (kernel H* + lambda I, u(0) = 0) after ``steps`` GD
    steps: k(x, X)(H* + lambda I)^-1 (I - (I - eta (H* + lambda I))^k) y~. The same for AUX and
    RDI; its distance to the ridge predictor is what stopping after ``steps`` steps leaves."""
    values, vectors = np.linalg.eigh(h_train + lam * np.eye(len(h_train)))
    coefficients = (1 - (1 - eta * values) ** steps) / values * (vectors.T @ y)
    return h_test_train @ (vectors @ coefficients)


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def compare_with_ridge(x: np.ndarray, y_noisy: np.ndarray, x_test: np.ndarray, settings: dict[str, Any],
                       seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every (method, width, initialisation) and compare its test outputs with ridge regression.

    Returns the per-point predictions and the per-run diagnostics.
    """
    enable_float64()
    h_train = analytic_first_layer_ntk_numpy(x)
    h_test_train = analytic_first_layer_ntk_numpy(x_test, x)
    lam = ridge_lambda(h_train, settings["lambda_multiple"])
    eta = step_size(settings, largest_eigenvalue(h_train) + lam)
    steps = settings["steps"]
    ridge = ridge_predictor(h_test_train, h_train, y_noisy, lam)
    floor = rms(linearised_after(h_train, h_test_train, y_noisy, lam, eta, steps), ridge)
    kernel_regression = ridge_predictor(h_test_train, h_train, y_noisy, 0.0)
    dim = x.shape[1]
    xj, yj, x_test_j = jnp.asarray(x), jnp.asarray(y_noisy), jnp.asarray(x_test)
    init_root = jax.random.PRNGKey(seed + 1)
    predictions, runs = [], []
    for width in sorted(settings["widths"]):
        init_fn, apply_fn, _ = two_layer_model(width, dim, "relu")
        trainers = [Trainer(method, apply_fn, lam, eta, steps) for method in METHODS]
        for replicate in range(settings["seeds"]):
            params = init_params(init_fn, jax.random.fold_in(init_root, replicate), dim, zero_output=True)
            for trainer in trainers:  # the same initialisation for both methods
                network, diagnostics = trainer(params, xj, yj, x_test_j)
                predictions += [{"method": trainer.method, "width": width, "replicate": replicate, "point": i,
                                 "network": float(net), "ridge": float(rid)}
                                for i, (net, rid) in enumerate(zip(network, ridge))]
                runs.append({"method": trainer.method, "width": width, "replicate": replicate, "n_train": len(x),
                             "lambda": lam, "eta": eta, "steps": steps, **diagnostics,
                             "rms_distance": rms(network, ridge), "rms_ridge": rms(ridge, 0.0),
                             "linearised_floor": floor, "ridge_vs_kernel_regression": rms(ridge, kernel_regression)})
    return pd.DataFrame(predictions), pd.DataFrame(runs)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    data = load_two_class(prepared[DATASET], settings["n_train"], settings["n_test"], seed)
    y_noisy, _ = flip_signs(data.y_train, settings["label_noise"], seed + 100)
    predictions, runs = compare_with_ridge(data.x_train, y_noisy, data.x_test, settings, seed)
    # Clean-label test accuracy of the sign of each predictor (context, not part of the claim).
    signs = np.sign(predictions[["network", "ridge"]].to_numpy())
    correct = signs == data.y_test[predictions["point"].to_numpy()][:, None]
    accuracy = (predictions[["method", "width", "replicate"]]
                .assign(network_test_accuracy=correct[:, 0], ridge_test_accuracy=correct[:, 1])
                .groupby(["method", "width", "replicate"], as_index=False).mean())
    runs = runs.merge(accuracy, on=["method", "width", "replicate"])
    runs["label_noise"] = settings["label_noise"]
    save_csv(out_dir / "predictions.csv", predictions)
    save_csv(out_dir / "runs.csv", runs)
