"""Loss-landscape tools of fig-parent-child (Fort et al. 2020 and the works it builds on): paths
between two solutions, a quadratic Bezier curve trained to low loss (Garipov et al. 2018), and
the sharpness (top Hessian eigenvalue) by power iteration.

Parameters are flat float32 vectors here (``kernel_dynamics.flat_params``); ``loss(vector)``
closes over the network, its unflattener and the data.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

FlatLoss = Callable[[jax.Array], jax.Array]


def linear_point(t: float | jax.Array, start: jax.Array, end: jax.Array) -> jax.Array:
    """The straight line (1 - t) start + t end."""
    return (1 - t) * start + t * end


def bezier_point(t: float | jax.Array, start: jax.Array, control: jax.Array, end: jax.Array) -> jax.Array:
    """The quadratic Bezier curve (1 - t)^2 start + 2 t (1 - t) control + t^2 end."""
    return (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end


def train_bezier_control(batch_loss: Callable[[jax.Array, jax.Array], jax.Array], start: jax.Array, end: jax.Array,
                         key: jax.Array, *, n: int, batch_size: int, epochs: int, learning_rate: float,
                         momentum: float) -> jax.Array:
    """The control point of a low-loss quadratic Bezier curve between two fixed solutions.

    Starts at the midpoint; each SGD step draws t ~ U(0, 1) and one minibatch and descends the loss of
    the curve's point at t with respect to the control point (the expected loss along the curve
    over uniform t). ``batch_loss(params, batch_indices)`` is the minibatch loss at a parameter vector.
    """
    def point_loss(control, t, batch):
        return batch_loss(bezier_point(t, start, control, end), batch)

    gradient = jax.grad(point_loss)

    @jax.jit
    def step(control, velocity, t, batch):
        velocity = momentum * velocity + gradient(control, t, batch)
        return control - learning_rate * velocity, velocity

    control = (start + end) / 2
    velocity = jnp.zeros_like(control)
    steps_per_epoch = n // batch_size
    for _ in range(epochs):
        key, order_key, t_key = jax.random.split(key, 3)
        order = np.asarray(jax.random.permutation(order_key, n))[: steps_per_epoch * batch_size]
        times = jax.random.uniform(t_key, (steps_per_epoch,))
        for t, batch in zip(times, order.reshape(steps_per_epoch, batch_size)):
            control, velocity = step(control, velocity, t, batch)
    return control


def top_hessian_eigenvalue(loss: FlatLoss, params: jax.Array, key: jax.Array, iterations: int = 30) -> float:
    """The largest-magnitude eigenvalue of the Hessian of ``loss`` at ``params`` by power iteration
    on Hessian-vector products (forward-over-reverse), from a random unit start.

    The Rayleigh quotient v^T H v of the last iterate is returned; at a minimum the top eigenvalue
    is positive, which is the sharpness."""
    gradient = jax.grad(loss)
    hvp = jax.jit(lambda v: jax.jvp(gradient, (params,), (v,))[1])
    vector = jax.random.normal(key, params.shape, params.dtype)
    vector = vector / jnp.linalg.norm(vector)
    for _ in range(iterations):
        product = hvp(vector)
        vector = product / jnp.linalg.norm(product)
    return float(jnp.vdot(vector, hvp(vector)))


def gradient_descent(loss: FlatLoss, params: jax.Array, velocity: jax.Array, learning_rate: float, momentum: float,
                     steps: int) -> tuple[jax.Array, jax.Array]:
    """Full-batch gradient descent with heavy-ball momentum; returns (params, velocity). Near a
    minimum of sharpness lambda it is stable only while lambda < 2 (1 + momentum) / learning_rate."""
    @jax.jit
    def step(p, v):
        v = momentum * v + jax.grad(loss)(p)
        return p - learning_rate * v, v

    for _ in range(steps):
        params, velocity = step(params, velocity)
    return params, velocity


def stability_limit(learning_rate: float, momentum: float) -> float:
    """The largest sharpness at which heavy-ball GD with these settings is stable: 2 (1 + beta) / lr."""
    return 2.0 * (1.0 + momentum) / learning_rate
