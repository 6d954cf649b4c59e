"""How the empirical NTK of a trained network moves (Fort et al. 2020): training with
checkpoints, the probe-set NTK at a checkpoint, and the kernel distance.

The empirical NTK here is traced over the logits: for probe images x, x',
K(x, x') = (1/K) sum_k <df_k(x)/dw, df_k(x')/dw> over the K logits, one P x P matrix for P
probes (neural-tangents' ``empirical_ntk_fn`` with ``trace_axes=(-1,)`` on the network's own
``apply_fn``; neural-tangents divides a traced axis by its size). The kernel distance does not
depend on that factor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
from jax.flatten_util import ravel_pytree

from ntk_study.checkpoints import checkpoint_steps  # noqa: F401 (part of this module's interface)
from ntk_study.training import cross_entropy, momentum_step_fn


def kernel_distance(first: np.ndarray, second: np.ndarray) -> float:
    """S = 1 - <K1, K2>_F / (||K1||_F ||K2||_F): 0 for proportional kernels, 1 for orthogonal ones."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    cosine = np.sum(first * second) / (np.linalg.norm(first) * np.linalg.norm(second))
    return float(1.0 - cosine)


def distance_matrix(kernels: np.ndarray) -> np.ndarray:
    """Pairwise kernel distances S(K_i, K_j) of a stack of kernels (n, P, P)."""
    flat = np.asarray(kernels, dtype=np.float64).reshape(len(kernels), -1)
    unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    return np.clip(1.0 - unit @ unit.T, 0.0, 2.0)


def probe_ntk(apply_fn: Callable, params: Any, probes: np.ndarray, block: int = 256) -> np.ndarray:
    """The logit-traced empirical NTK (P x P, float64) of ``apply_fn`` at ``params`` on ``probes``,
    computed ``block`` probes at a time so the Jacobians of a large probe set never sit in memory at once."""
    kernel_fn = _traced_ntk_fn(apply_fn)
    probes = jnp.asarray(probes)
    starts = range(0, len(probes), block)
    rows = [np.concatenate([np.asarray(kernel_fn(probes[i:i + block], probes[j:j + block], params))
                            for j in starts], axis=1) for i in starts]
    kernel = np.concatenate(rows, axis=0).astype(np.float64)
    return (kernel + kernel.T) / 2  # exact symmetry; the blocks differ by float32 rounding


def jacobian_features(apply_fn: Callable, params: Any, x: np.ndarray, block: int = 100) -> np.ndarray:
    """Per image, its Jacobian over all logits and weights as one row (N, logits x weights, float32):
    the logit-traced NTK of ``probe_ntk`` is ``F1 @ F2.T / logits``. Computing each image's Jacobian
    once serves a train-train and a test-train kernel without recomputing it per pair of blocks."""
    features_fn = _jacobian_features_fn(apply_fn)
    return np.concatenate([np.asarray(features_fn(params, jnp.asarray(x[i:i + block])))
                           for i in range(0, len(x), block)])


@functools.lru_cache(maxsize=None)
def _jacobian_features_fn(apply_fn: Callable) -> Callable:
    def features(params, images):
        def one(image):
            jacobian = jax.jacrev(lambda p: apply_fn(p, image[None])[0])(params)
            return jnp.concatenate([leaf.reshape(leaf.shape[0], -1)
                                    for leaf in jax.tree_util.tree_leaves(jacobian)], axis=1).reshape(-1)
        return jax.vmap(one)(images)

    return jax.jit(features)


@functools.lru_cache(maxsize=None)
def _traced_ntk_fn(apply_fn: Callable) -> Callable:
    """One compiled empirical-NTK function per network (the checkpoints reuse it)."""
    return jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0))


def train_with_checkpoints(apply_fn: Callable, params: Any, x: np.ndarray, labels: np.ndarray, key: jax.Array,
                           *, learning_rate: float, momentum: float, batch_size: int, epochs: int,
                           save_at: list[int]) -> Iterator[tuple[int, Any]]:
    """Minibatch SGD with momentum on the mean cross-entropy, a fresh shuffle every epoch; yields
    ``(step, params)`` at every step in ``save_at`` (step 0 = the initial parameters)."""
    x, labels = jnp.asarray(x), jnp.asarray(labels)
    n = x.shape[0]
    steps_per_epoch = n // batch_size
    step_fn = momentum_step_fn(lambda w, batch, x, y: cross_entropy(apply_fn(w, x[batch]), y[batch]), momentum)
    wanted = set(save_at)
    state = (params, jax.tree_util.tree_map(jnp.zeros_like, params))
    if 0 in wanted:
        yield 0, params
    step = 0
    for _ in range(epochs):
        key, order_key = jax.random.split(key)
        order = np.asarray(jax.random.permutation(order_key, n))[: steps_per_epoch * batch_size]
        for batch in order.reshape(steps_per_epoch, batch_size):
            state = step_fn(state, (x, labels), batch, learning_rate)
            step += 1
            if step in wanted:
                yield step, state[0]


def flat_params(params: Any) -> np.ndarray:
    """The parameters as one float32 vector (checkpoint files store these)."""
    return np.asarray(ravel_pytree(params)[0], dtype=np.float32)


def unflattener(params: Any) -> Callable[[np.ndarray], Any]:
    """Maps a flat vector back to a pytree shaped like ``params``."""
    _, unravel = ravel_pytree(params)
    return lambda vector: unravel(jnp.asarray(vector, dtype=jnp.float32))


def evaluate(apply_fn: Callable, params: Any, x: np.ndarray, labels: np.ndarray, *extra: Any,
             batch_size: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``apply_fn(params, x, *extra)`` on ``(x, labels)``."""
    totals = _batch_totals_fn(apply_fn)
    sums = [totals(params, jnp.asarray(x[i:i + batch_size]), jnp.asarray(labels[i:i + batch_size]), *extra)
            for i in range(0, len(x), batch_size)]
    return (sum(float(loss) for loss, _ in sums) / len(x), sum(int(hits) for _, hits in sums) / len(x))


@functools.lru_cache(maxsize=None)
def _batch_totals_fn(apply_fn: Callable) -> Callable:
    """Summed cross-entropy and correct count of one batch, compiled once per network."""
    def totals(params, x, labels, *extra):
        logits = apply_fn(params, x, *extra)
        return cross_entropy(logits, labels) * x.shape[0], jnp.sum(jnp.argmax(logits, axis=1) == labels)

    return jax.jit(totals)
