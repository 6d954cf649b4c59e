"""The lecture's two-layer network f(a, W, x) = m^(-1/2) sum_r a_r sigma(w_r^T x).

Built with ``stax``: the first Dense layer uses ``W_std = sqrt(d)`` so that, under the NTK
parameterisation (which divides by sqrt(fan_in)), its pre-activations are exactly w_r^T x
with w_r ~ N(0, I); the readout Dense layer gives m^(-1/2) sum_r a_r sigma(.). Only the
first layer W is trained, so the lecture's H is the NTK with respect to W alone.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
from neural_tangents import stax

ACTIVATIONS: dict[str, Callable[[], Any]] = {
    "relu": stax.Relu,
    "erf": stax.Erf,
}

Params = Any


def two_layer_model(width: int, input_dim: int, activation: str = "relu"):
    """Return ``(init_fn, apply_fn, kernel_fn)`` of the lecture's two-layer net (no biases)."""
    return stax.serial(
        stax.Dense(width, W_std=float(np.sqrt(input_dim)), b_std=None),
        ACTIVATIONS[activation](),
        stax.Dense(1, W_std=1.0, b_std=None),
    )


def init_params(init_fn, key: jax.Array, input_dim: int, zero_output: bool = False,
                init_scale: float = 1.0) -> Params:
    """Initialise W ~ N(0, kappa^2 I) (kappa = ``init_scale``) and the readout a_r uniformly from
    {-1, +1}, as in the lecture. For ReLU, H does not depend on kappa; a small kappa makes the
    initial outputs u(0) ~ kappa small (Arora et al. 2019 use kappa = 1e-2).

    With ``zero_output`` the second half of the neurons copies the first half's w_r with the
    opposite sign a_r, so f(x, 0) = 0 exactly (the u(0) = 0 of the kernel predictor) while
    H(0) keeps the same expectation H*.
    """
    w_key, a_key = jax.random.split(key)
    _, (first, nonlinearity, readout) = init_fn(w_key, (-1, input_dim))
    weights = init_scale * first[0]
    signs = jax.random.rademacher(a_key, readout[0].shape, dtype=readout[0].dtype)
    if zero_output:
        half = weights.shape[1] // 2
        if 2 * half != weights.shape[1]:
            raise ValueError("zero_output needs an even width")
        weights = jnp.concatenate([weights[:, :half], weights[:, :half]], axis=1)
        signs = jnp.concatenate([signs[:half], -signs[:half]], axis=0)
    return ((weights, first[1]), nonlinearity, (signs, readout[1]))


def with_first_layer(params: Params, trainable: Params) -> Params:
    """The full parameters with the first layer replaced by ``trainable``."""
    return (trainable, params[1], params[2])


def first_layer_function(apply_fn, params: Params) -> tuple[Callable, Params]:
    """Split ``apply_fn`` into f(W, x) with the readout frozen, and the trainable W."""
    def apply_first(trainable: Params, x: jax.Array) -> jax.Array:
        return apply_fn(with_first_layer(params, trainable), x)

    return apply_first, params[0]


def empirical_first_layer_ntk(apply_fn, params: Params, x1: jax.Array, x2: jax.Array | None = None,
                              batch_size: int = 0) -> jax.Array:
    """H(t)_ij = <df(x_i)/dW, df(x_j)/dW> from the network's own gradients (neural-tangents)."""
    apply_first, trainable = first_layer_function(apply_fn, params)
    ntk_fn = nt.empirical_ntk_fn(
        apply_first,
        trace_axes=(-1,),
        vmap_axes=0,
        implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION,
    )
    if batch_size:
        ntk_fn = nt.batch(ntk_fn, batch_size=batch_size)
    return ntk_fn(x1, x2, trainable)


def analytic_first_layer_ntk(kernel_fn, x1: jax.Array, x2: jax.Array | None = None) -> jax.Array:
    """H* from the infinite-width kernel of the same stax model.

    For this two-layer net without biases the full NTK is Theta = K_out + H*, where the
    readout's own contribution K_out is the output NNGP; so H* = Theta - K_out.
    """
    kernels = kernel_fn(x1, x2, ("ntk", "nngp"))
    return kernels.ntk - kernels.nngp


def relu_first_layer_ntk_closed_form(x1: np.ndarray, x2: np.ndarray | None = None) -> np.ndarray:
    """x_i.x_j (pi - arccos(x_i.x_j)) / (2 pi) for unit-norm inputs (the lecture's H*)."""
    x2 = x1 if x2 is None else x2
    inner = np.clip(np.asarray(x1) @ np.asarray(x2).T, -1.0, 1.0)
    return inner * (np.pi - np.arccos(inner)) / (2 * np.pi)


def activation_patterns(params: Params, x: jax.Array) -> jax.Array:
    """1[w_r^T x_i > 0] for every point i and neuron r, shape (n, m)."""
    return (x @ params[0][0]) > 0


def relu_first_layer_ntk_from_patterns(params: Params, x: np.ndarray) -> np.ndarray:
    """H_ij = x_i.x_j (1/m) sum_r 1[w_r.x_i > 0] 1[w_r.x_j > 0] (a_r^2 = 1): the ReLU net's
    first-layer NTK at ``params`` from its activation patterns, in float64. Equal to
    ``empirical_first_layer_ntk`` (tested), without the n x (d m) Jacobian, which at m = 4000 would
    take gigabytes."""
    patterns = np.asarray(activation_patterns(params, jnp.asarray(x, jnp.float32)), np.float64)
    return (x @ x.T) * (patterns @ patterns.T) / patterns.shape[1]


def analytic_first_layer_ntk_numpy(x1: np.ndarray, x2: np.ndarray | None = None, activation: str = "relu",
                                   batch_size: int = 500) -> np.ndarray:
    """H* (float64 numpy) of the two-layer model for many points, computed in blocks by
    neural-tangents' ``batch`` so memory stays bounded."""
    _, _, kernel_fn = two_layer_model(2, x1.shape[1], activation)  # H* does not depend on the width
    batched = nt.batch(kernel_fn, batch_size=batch_size, store_on_device=False)
    kernels = batched(jnp.asarray(x1), None if x2 is None else jnp.asarray(x2), ("ntk", "nngp"))
    return np.asarray(kernels.ntk - kernels.nngp)


def largest_eigenvalue(kernel: Any) -> float:
    """lambda_max of a symmetric kernel matrix (numpy or JAX)."""
    return float(np.linalg.eigvalsh(np.asarray(kernel))[-1])


def step_size(settings: dict, lambda_max: float) -> float:
    """GD step: the config's absolute ``learning_rate`` if given, else ``step_size_multiple / lambda_max``."""
    if settings.get("learning_rate") is not None:
        return float(settings["learning_rate"])
    return float(settings["step_size_multiple"] / lambda_max)


def sphere_points(key: jax.Array, n: int, dim: int) -> jax.Array:
    """n points drawn uniformly on the unit sphere in R^dim."""
    x = jax.random.normal(key, (n, dim))
    return x / jnp.linalg.norm(x, axis=1, keepdims=True)
