"""Full-batch gradient descent on the squared loss, jit-compiled.

The lecture's loss is L(theta) = 1/2 sum_i (f(theta, x_i) - y_i)^2 (a sum, not a mean), so a step
of size eta moves the training outputs by about -eta H (u - y).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

Apply = Callable[[Any, jax.Array], jax.Array]


def as_float32(params: Any) -> Any:
    """Parameters in float32, the images' precision, even when float64 is enabled in the process
    (a convolution refuses mixed dtypes)."""
    return jax.tree_util.tree_map(lambda leaf: leaf.astype(jnp.float32), params)


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


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy for integer labels."""
    log_probs = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))


def fit_classifier(apply: Apply, params: Any, x: jax.Array, labels: jax.Array, key: jax.Array, *,
                   learning_rate: float, momentum: float, batch_size: int, max_epochs: int,
                   lr_decay: float = 1.0, stop_loss: float = 0.0,
                   loss: Callable[[jax.Array, jax.Array], jax.Array] = cross_entropy,
                   eval_batch_size: int = 2000) -> tuple[Any, list[dict[str, float]]]:
    """Minibatch SGD with heavy-ball momentum on ``loss(logits, labels)`` (a mean over the batch;
    cross-entropy by default), the step decayed by ``lr_decay`` every epoch; stops once the full
    training loss falls below ``stop_loss``.

    Returns the parameters and one record per epoch: steps so far, training loss and accuracy
    (evaluated ``eval_batch_size`` images at a time, so the full set never passes at once).
    """
    x, labels = jnp.asarray(x), jnp.asarray(labels)
    n = x.shape[0]
    steps_per_epoch = max(n // batch_size, 1)

    # The data are arguments, not closed-over constants, so a large training set is not baked
    # into the compiled program.
    @jax.jit
    def epoch(state, x, labels, order, lr):
        def step(carry, batch):
            params, velocity = carry
            grads = jax.grad(lambda p: loss(apply(p, x[batch]), labels[batch]))(params)
            velocity = jax.tree_util.tree_map(lambda v, g: momentum * v + g, velocity, grads)
            params = jax.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity)
            return (params, velocity), None

        batches = order[: steps_per_epoch * batch_size].reshape(steps_per_epoch, batch_size)
        state, _ = jax.lax.scan(step, state, batches)
        return state

    @jax.jit
    def batch_totals(params, x, labels):
        logits = apply(params, x)
        return loss(logits, labels) * x.shape[0], jnp.sum(jnp.argmax(logits, axis=1) == labels)

    def evaluate(params):
        totals = [batch_totals(params, x[i:i + eval_batch_size], labels[i:i + eval_batch_size])
                  for i in range(0, n, eval_batch_size)]
        return sum(float(t[0]) for t in totals) / n, sum(int(t[1]) for t in totals) / n

    state = (params, jax.tree_util.tree_map(jnp.zeros_like, params))
    loss_value, accuracy = evaluate(params)
    history = [{"epoch": 0, "step": 0, "loss": loss_value, "accuracy": accuracy}]
    for index in range(1, max_epochs + 1):
        key, order_key = jax.random.split(key)
        state = epoch(state, x, labels, jax.random.permutation(order_key, n), learning_rate * lr_decay ** (index - 1))
        loss_value, accuracy = evaluate(state[0])
        history.append({"epoch": index, "step": index * steps_per_epoch, "loss": loss_value, "accuracy": accuracy})
        if loss_value < stop_loss:
            break
    return state[0], history


def predict_labels(apply: Apply, params: Any, x: np.ndarray | jax.Array, batch_size: int = 2000) -> np.ndarray:
    """argmax of the outputs, ``batch_size`` inputs at a time."""
    predict = jax.jit(lambda p, xs: jnp.argmax(apply(p, xs), axis=1))
    return np.concatenate([np.asarray(predict(params, jnp.asarray(x[i:i + batch_size])))
                           for i in range(0, len(x), batch_size)])


def adam_full_batch(loss: Callable[[Any], jax.Array], params: Any, learning_rate: float | jax.Array,
                    steps: int) -> Any:
    """``steps`` full-batch Adam steps on ``loss(params)`` inside one ``lax.scan`` (call under jit)."""
    from jax.example_libraries import optimizers

    opt_init, opt_update, get_params = optimizers.adam(learning_rate)

    def step(state, i):
        return opt_update(i, jax.grad(loss)(get_params(state)), state), None

    state, _ = jax.lax.scan(step, opt_init(params), jnp.arange(steps))
    return get_params(state)
