"""Training on noisy labels (Hu, Li and Yu 2020): symmetric label noise and the two regularisers.

* AUX: one trainable auxiliary output b_i per training example, added to the network's output
  with weight sqrt(lambda) during training and dropped at test time:
  l(w, b) = 1/2 sum_i (f(w, x_i) + sqrt(lambda) b_i - y~_i)^2, b(0) = 0.
* RDI: the squared loss plus lambda/2 ||w - w(0)||^2 (distance to initialisation).

For a wide network both train to kernel ridge regression k(x, X)(H* + lambda I)^-1 y~ (Theorem 5).
These functions are shared by the finite-network experiment (tab-noisy-labels) and the width
study (fig-aux-is-ridge).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def symmetric_label_noise(labels: np.ndarray, fraction: float, n_classes: int,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Replace round(fraction * n) labels, chosen uniformly, by a uniformly drawn *wrong* class.

    Returns the noisy labels and the sorted indices that were changed (every one of them now
    differs from its true label; every other label is untouched).
    """
    labels = np.asarray(labels)
    changed = np.sort(rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False))
    # An offset of 1..K-1 classes modulo K is a uniform draw among the K-1 wrong classes.
    offsets = rng.integers(1, n_classes, size=len(changed))
    noisy = labels.copy()
    noisy[changed] = (labels[changed] + offsets) % n_classes
    return noisy, changed


def aux_shifted(outputs: jax.Array, aux: jax.Array, lam: float) -> jax.Array:
    """The training outputs under AUX: f(x_i) + sqrt(lambda) b_i (b is dropped at test time)."""
    return outputs + jnp.sqrt(lam) * aux


def aux_squared_loss(outputs: jax.Array, aux: jax.Array, targets: jax.Array, lam: float) -> jax.Array:
    """1/2 sum (f + sqrt(lambda) b - y~)^2 over examples and outputs (AUX with the squared loss)."""
    return 0.5 * jnp.sum((aux_shifted(outputs, aux, lam) - targets) ** 2)


def rdi_penalty(params: Any, initial: Any, lam: float) -> jax.Array:
    """lambda/2 ||w - w(0)||^2 over every parameter array."""
    squares = jax.tree_util.tree_map(lambda w, w0: jnp.sum((w - w0) ** 2), params, initial)
    return 0.5 * lam * sum(jax.tree_util.tree_leaves(squares))


def ridge_predictor(k_test_train: np.ndarray, k_train: np.ndarray, targets: np.ndarray,
                    lam: float) -> np.ndarray:
    """Kernel ridge regression k(x, X)(K + lambda I)^-1 y~ (lambda = 0: kernel regression)."""
    regularised = k_train + lam * np.eye(len(k_train))
    return k_test_train @ np.linalg.solve(regularised, targets)


def aux_epoch_map(step: float, momentum: float, steps_per_epoch: int) -> np.ndarray:
    """The linear map, over one epoch, of (b_i - b_i*, lr v_i) for one AUX variable under heavy-ball
    SGD (v <- momentum v + g; b <- b - lr v) with the squared loss: b_i is in one minibatch per
    epoch, where its gradient is (lambda / B)(b_i - b_i*) (the network's output held fixed), and its
    velocity keeps moving it, decaying, through the epoch's other steps. ``step`` = lr lambda / B."""
    visited = np.array([[1.0 - step, -momentum], [step, momentum]])
    coasting = np.array([[1.0, -momentum], [0.0, momentum]])
    return np.linalg.matrix_power(coasting, steps_per_epoch - 1) @ visited


def aux_stability_limit(learning_rate: float, momentum: float, batch_size: int, steps_per_epoch: int) -> float:
    """The largest lambda (absolute units) for which the AUX variables' own update is stable: the
    epoch map of ``aux_epoch_map`` has spectral radius below 1 for lr lambda / B below this edge
    (one step per epoch: heavy ball's 2 (1 + momentum)). With the cross-entropy the curvature in
    b is at most half the squared loss's, so the same limit is conservative there."""
    def stable(step: float) -> bool:
        return bool(np.max(np.abs(np.linalg.eigvals(aux_epoch_map(step, momentum, steps_per_epoch)))) < 1.0)

    low, high = 0.0, 2.0 * (1.0 + momentum)  # stable near 0; the one-step edge bounds the epoch's
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if stable(middle) else (low, middle)
    return low * batch_size / learning_rate


def rdi_stability_limit(learning_rate: float, momentum: float, n_train: int) -> float:
    """The largest lambda (absolute units) for which RDI's penalty alone is stable: every step adds
    the gradient (lambda / n)(w - w(0)) of lambda/(2n) ||w - w(0)||^2, heavy ball on a quadratic of
    curvature lambda / n, stable while lr lambda / n < 2 (1 + momentum)."""
    return 2.0 * (1.0 + momentum) * n_train / learning_rate
