"""Full-batch gradient descent on the squared loss, jit-compiled.

The lecture's loss is L(theta) = 1/2 sum_i (f(theta, x_i) - y_i)^2 (a sum, not a mean), so a step
of size eta moves the training outputs by about -eta H (u - y).
"""

from __future__ import annotations

import functools
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


def full_batch_gd_fn(objective: Callable[..., jax.Array], learning_rate: float, steps: int,
                     record_every: int = 1) -> Callable[..., tuple[Any, jax.Array]]:
    """Full-batch GD theta <- theta - eta grad_theta objective(theta, *data) on any objective of a
    parameter pytree. Returns ``run(params, *data)``, which takes ``steps`` steps, ``record_every``
    at a time in one jitted ``lax.scan``, and returns the final parameters and the objective every
    ``record_every`` steps (entry j after j * record_every steps, entry 0 at the start). ``data``
    are traced arguments, so one ``run`` serves many initialisations and datasets of the same
    shapes with a single compilation."""
    grad = jax.grad(objective)

    @jax.jit
    def run_block(params, *data):
        def body(p, _):
            return jax.tree_util.tree_map(lambda w, g: w - learning_rate * g, p, grad(p, *data)), None

        params, _ = jax.lax.scan(body, params, None, length=record_every)
        return params, objective(params, *data)

    def run(params: Any, *data: Any) -> tuple[Any, jax.Array]:
        values = [objective(params, *data)]
        for _ in range(steps // record_every):
            params, value = run_block(params, *data)
            values.append(value)
        return params, jnp.stack(values)

    return run


def full_batch_gd(objective: Callable[[Any], jax.Array], params: Any, learning_rate: float, steps: int,
                  record_every: int = 1) -> tuple[Any, jax.Array]:
    """``full_batch_gd_fn`` run once on an objective of the parameters alone (data closed over)."""
    return full_batch_gd_fn(objective, learning_rate, steps, record_every)(params)


def gradient_descent(apply: Apply, params: Any, x: jax.Array, y: jax.Array, learning_rate: float,
                     steps: int, record_every: int = 1) -> tuple[Any, jax.Array]:
    """Run ``steps`` GD steps on the squared loss; return the final parameters and the loss every
    ``record_every`` steps (entry j is the loss after j * record_every steps, entry 0 at
    initialisation)."""
    return full_batch_gd(lambda p: squared_loss(apply, p, x, y), params, learning_rate, steps, record_every)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy for integer labels."""
    log_probs = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))


def momentum_step_fn(objective: Callable[..., jax.Array], momentum: float) -> Callable[..., Any]:
    """One jitted step of SGD with heavy-ball momentum: ``step(state, data, batch, lr)`` with
    ``state = (params, velocity)`` and ``objective(params, batch, *data)`` the minibatch loss."""
    gradient = jax.grad(objective)

    @jax.jit
    def step(state, data, batch, lr):
        params, velocity = state
        grads = gradient(params, batch, *data)
        velocity = jax.tree_util.tree_map(lambda v, g: momentum * v + g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity)
        return params, velocity

    return step


def momentum_epoch_fn(objective: Callable[..., jax.Array], momentum: float, batch_size: int,
                      steps_per_epoch: int) -> Callable[..., Any]:
    """One epoch of minibatch SGD with heavy-ball momentum.

    ``objective(params, batch, *data)`` is the loss of one minibatch (``batch``: its indices into
    the training arrays). Returns ``epoch(state, data, order, lr)`` with ``state = (params,
    velocity)``, ``data`` a tuple of arrays and ``order`` a permutation of the training indices
    (the first ``steps_per_epoch * batch_size`` are used). The data are arguments, not
    closed-over constants, so a large training set is not baked into the compiled program.

    Each step is one jitted call, looped in Python: on XLA's CPU backend a convolution's
    gradient inside a ``lax.scan`` loop runs 20-30x slower than the same step compiled alone
    (measured: a 2-layer CNN on 8x8 images, 2.0 s vs 0.1 s per epoch of 1,000 images).
    """
    step = momentum_step_fn(objective, momentum)

    def epoch(state, data, order, lr):
        batches = np.asarray(order)[: steps_per_epoch * batch_size].reshape(steps_per_epoch, batch_size)
        for batch in batches:
            state = step(state, data, batch, lr)
        return state

    return epoch


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
    epoch = momentum_epoch_fn(lambda p, batch, x, labels: loss(apply(p, x[batch]), labels[batch]),
                              momentum, batch_size, steps_per_epoch)

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
        state = epoch(state, (x, labels), jax.random.permutation(order_key, n),
                      learning_rate * lr_decay ** (index - 1))
        loss_value, accuracy = evaluate(state[0])
        history.append({"epoch": index, "step": index * steps_per_epoch, "loss": loss_value, "accuracy": accuracy})
        if loss_value < stop_loss:
            break
    return state[0], history


@functools.lru_cache(maxsize=None)
def _argmax_fn(apply: Apply) -> Callable[[Any, jax.Array], jax.Array]:
    """One jitted argmax per network, so repeated evaluations (every epoch) compile once."""
    return jax.jit(lambda p, xs: jnp.argmax(apply(p, xs), axis=1))


def predict_labels(apply: Apply, params: Any, x: np.ndarray | jax.Array, batch_size: int = 2000) -> np.ndarray:
    """argmax of the outputs, ``batch_size`` inputs at a time."""
    predict = _argmax_fn(apply)
    return np.concatenate([np.asarray(predict(params, jnp.asarray(x[i:i + batch_size])))
                           for i in range(0, len(x), batch_size)])


def adam_full_batch(loss: Callable[[Any], jax.Array], params: Any, learning_rate: float | jax.Array,
                    steps: int, record: Callable[[Any], Any] | None = None, record_every: int = 1) -> Any:
    """``steps`` full-batch Adam steps on ``loss(params)`` inside one ``lax.scan`` (call under jit).

    Returns the final parameters. With ``record``, returns ``(params, records)`` instead:
    ``record(params)`` (any pytree of arrays) at the start and after every ``record_every`` steps,
    stacked along a leading axis of length ``steps // record_every + 1`` (entry j after
    j * record_every steps). The optimiser state carries across the records, so the steps taken are
    the same as without ``record``.
    """
    from jax.example_libraries import optimizers

    opt_init, opt_update, get_params = optimizers.adam(learning_rate)

    def step(state, i):
        return opt_update(i, jax.grad(loss)(get_params(state)), state), None

    if record is None:
        state, _ = jax.lax.scan(step, opt_init(params), jnp.arange(steps))
        return get_params(state)
    if record_every < 1 or steps % record_every:
        raise ValueError(f"record_every ({record_every}) must divide steps ({steps})")

    def block(state, start):
        state, _ = jax.lax.scan(step, state, start + jnp.arange(record_every))
        return state, record(get_params(state))

    state, records = jax.lax.scan(block, opt_init(params), jnp.arange(0, steps, record_every))
    records = jax.tree_util.tree_map(lambda first, rest: jnp.concatenate([first[None], rest]),
                                     record(params), records)
    return get_params(state), records
