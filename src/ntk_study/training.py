"""Full-batch gradient descent on the squared loss, jit-compiled.

The lecture's loss is L(theta) = 1/2 sum_i (f(theta, x_i) - y_i)^2 (a sum, not a mean), so a step
of size eta moves the training outputs by about -eta H (u - y).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

Apply = Callable[[Any, jax.Array], jax.Array]


def squared_loss(apply: Apply, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    return 0.5 * jnp.sum((apply(params, x).reshape(y.shape) - y) ** 2)


def gd_step_fn(apply: Apply, learning_rate: float) -> Callable[[Any, jax.Array, jax.Array], Any]:
    """A jitted step theta <- theta - eta grad L(theta)."""
    grad = jax.grad(lambda params, x, y: squared_loss(apply, params, x, y))

    @jax.jit
    def step(params, x, y):
        return jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grad(params, x, y))

    return step


def gradient_descent(apply: Apply, params: Any, x: jax.Array, y: jax.Array, learning_rate: float,
                     steps: int, record_every: int = 1) -> tuple[Any, jax.Array]:
    """Run ``steps`` GD steps; return the final parameters and the loss every ``record_every`` steps
    (entry j is the loss after j * record_every steps, entry 0 at initialisation)."""
    step = gd_step_fn(apply, learning_rate)

    @jax.jit
    def run_block(params):
        def body(p, _):
            return step(p, x, y), None

        params, _ = jax.lax.scan(body, params, None, length=record_every)
        return params, squared_loss(apply, params, x, y)

    losses = [squared_loss(apply, params, x, y)]
    for _ in range(steps // record_every):
        params, loss = run_block(params)
        losses.append(loss)
    return params, jnp.stack(losses)
