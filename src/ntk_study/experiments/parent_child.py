"""fig-parent-child (Fort et al. 2020): learning with the tangent space of epoch t, and three
views of the loss landscape.

Reads fig-kernel-velocity's run (its settings, checkpoints, probe kernels and history): the
"parent" is that network at its checkpoints.

- Children: for every parent epoch t in ``parent_epochs``, the network linearised around w(t)
  (neural-tangents ``linearize``: f(w(t), x) + J(w(t)) (w - w(t))) is trained from w(t) on the
  parent's training images with SGD + momentum on the mean cross-entropy, for ``child.epochs``
  epochs at ``child.learning_rate`` (its loss is convex in w). ``children.csv``: the child's final
  test and training accuracy and loss beside the parent's test accuracy at t (and at the end);
  ``child_histories.csv``: the child's training loss and test accuracy at epochs 0, 1, 2, 4, ...
  and the last (convergence).
- Tangent space: a child's NTK is the parent's empirical NTK at w(t), constant while the child
  trains. ``tangent_kernels.npz``: the probe NTK at every parent epoch (from the parent run).
- Mode connectivity: a second network trained with the same recipe from another initialisation
  and data order (replicate 1); the training loss and test error along the straight line between
  the two final solutions and along a quadratic Bezier curve between them whose control point is
  trained (``landscape.train_bezier_control``). ``paths.csv``.
- Sharp minimum: on ``sharp.n_train`` of the training images, full-batch gradient descent with
  heavy-ball momentum (the "large batch") at the small learning rate reaches a minimum of the
  squared loss to one-hot targets (cross-entropy has no minimum at finite weights on separable
  data); from there it continues for ``sharp.continue_steps`` at the small and at the large
  learning rate. The top Hessian eigenvalue of the training loss (power iteration) every
  ``sharp.measure_every`` steps, with the stability limit 2 (1 + momentum) / lr, the training loss
  and the test accuracy. ``sharpness.csv``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd

from ntk_study.experiments import kernel_velocity as parent
from ntk_study.io import save_csv, save_npz
from ntk_study.kernel_dynamics import evaluate, flat_params, unflattener
from ntk_study.landscape import (
    bezier_point,
    gradient_descent,
    linear_point,
    stability_limit,
    top_hessian_eigenvalue,
    train_bezier_control,
)
from ntk_study.training import cross_entropy, momentum_step_fn

PARENT_FIGURE = "fig-kernel-velocity"
N_CLASSES = 10


@functools.lru_cache(maxsize=None)
def linearised_apply(apply_fn):
    """``f_lin(w, x, w0)``: the network linearised around ``w0`` (neural-tangents ``linearize``),
    with ``w0`` an argument, so one compiled program serves every parent checkpoint."""
    return lambda params, x, origin: nt.linearize(apply_fn, origin)(params, x)


def train_child(apply_fn, origin: Any, train_set, test_set, key: jax.Array, child: dict[str, Any]
                ) -> list[dict[str, float]]:
    """Train the linearisation around ``origin``, starting at ``origin``; a record at epoch 0 (the
    start, where the child equals the parent), at every power of two and at the last epoch (an
    evaluation of the linearised model costs about as much as an epoch of its training)."""
    linear = linearised_apply(apply_fn)
    step = _child_step_fn(linear, child["momentum"])
    x, labels = (jnp.asarray(a) for a in train_set)
    n, batch_size = x.shape[0], child["batch_size"]
    steps_per_epoch = n // batch_size
    state = (origin, jax.tree_util.tree_map(jnp.zeros_like, origin))
    records = []
    for epoch in range(child["epochs"] + 1):
        if epoch:
            key, order_key = jax.random.split(key)
            order = np.asarray(jax.random.permutation(order_key, n))[: steps_per_epoch * batch_size]
            for batch in order.reshape(steps_per_epoch, batch_size):
                state = step(state, (x, labels, origin), batch, child["learning_rate"])
        if epoch & (epoch - 1) and epoch != child["epochs"]:  # not 0, a power of two or the last
            continue
        train_loss, train_accuracy = evaluate(linear, state[0], *train_set, origin)
        _, test_accuracy = evaluate(linear, state[0], *test_set, origin)
        records.append({"child_epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                        "test_accuracy": test_accuracy})
    return records


@functools.lru_cache(maxsize=None)
def _child_step_fn(linear, momentum: float):
    return momentum_step_fn(lambda w, batch, x, y, origin: cross_entropy(linear(w, x[batch], origin), y[batch]),
                            momentum)


def children(settings, apply_fn, unflatten, checkpoints, steps_per_epoch, train_set, test_set, seed
             ) -> pd.DataFrame:
    """Every child's history, from the checkpoints at ``parent_epochs``."""
    frames = []
    for index, epoch in enumerate(settings["parent_epochs"]):
        origin = unflatten(checkpoints["params"][checkpoint_index(checkpoints["epochs"], epoch)])
        key = jax.random.PRNGKey(seed * 1000 + 500 + index)
        history = train_child(apply_fn, origin, train_set, test_set, key, settings["child"])
        frames.append(pd.DataFrame(history).assign(parent_epoch=epoch, parent_step=round(epoch * steps_per_epoch)))
        print(frames[-1].iloc[-1].to_dict(), flush=True)
    return pd.concat(frames, ignore_index=True)


def child_table(history: pd.DataFrame, parent_history: pd.DataFrame) -> pd.DataFrame:
    """One row per child: its final accuracies and loss beside the parent's test accuracy at its
    spawning step and at the end of the parent's training."""
    table = history[history["child_epoch"] == history["child_epoch"].max()].drop(columns="child_epoch")
    table = table.rename(columns={name: f"child_{name}" for name in ("train_loss", "train_accuracy", "test_accuracy")})
    at_parent = parent_history.set_index("step").loc[table["parent_step"], "test_accuracy"].to_numpy()
    final = parent_history.iloc[-1]
    return table.assign(parent_test_accuracy=at_parent, final_parent_test_accuracy=final["test_accuracy"],
                        final_parent_epoch=final["epoch"])


def paths(spec, apply_fn, unflatten, end_a, end_b, train_set, test_set, seed) -> pd.DataFrame:
    """Training loss and test error along the line and the trained Bezier curve between two solutions."""
    x, labels = (jnp.asarray(a) for a in train_set)

    def batch_loss(vector, batch):
        return cross_entropy(apply_fn(unflatten(vector), x[batch]), labels[batch])

    start, end = jnp.asarray(end_a), jnp.asarray(end_b)
    control = train_bezier_control(batch_loss, start, end, jax.random.PRNGKey(seed * 1000 + 900),
                                   n=len(labels), batch_size=spec["batch_size"], epochs=spec["epochs"],
                                   learning_rate=spec["learning_rate"], momentum=spec["momentum"])
    rows = []
    for t in np.linspace(0.0, 1.0, spec["path_points"]):
        for name, point in (("line", linear_point(t, start, end)), ("bezier", bezier_point(t, start, control, end))):
            params = unflatten(point)
            train_loss, train_accuracy = evaluate(apply_fn, params, *train_set)
            test_loss, test_accuracy = evaluate(apply_fn, params, *test_set)
            rows.append({"path": name, "t": float(t), "train_loss": train_loss, "train_accuracy": train_accuracy,
                         "test_loss": test_loss, "test_accuracy": test_accuracy})
    return pd.DataFrame(rows)


def sharpness(spec, apply_fn, start: np.ndarray, train_set, test_set, unflatten, seed) -> pd.DataFrame:
    """Reach a minimum of the squared loss by full-batch GD at the small learning rate, continue at
    the small and the large one; sharpness, loss and accuracies at the minimum and every
    ``measure_every`` steps."""
    chosen = np.sort(np.random.default_rng([seed, 2]).choice(len(train_set[1]), spec["n_train"], replace=False))
    x, labels = train_set[0][chosen], train_set[1][chosen]
    targets = jax.nn.one_hot(labels, N_CLASSES)

    def loss(vector):
        return squared_loss(apply_fn(unflatten(vector), jnp.asarray(x)), targets)

    def measure(vector, phase: str, lr: float, step: int) -> dict[str, Any]:
        params = unflatten(vector)
        _, train_accuracy = evaluate(apply_fn, params, x, labels)
        _, test_accuracy = evaluate(apply_fn, params, *test_set)
        eigenvalue = top_hessian_eigenvalue(loss, vector, jax.random.PRNGKey(seed * 1000 + 700),
                                            spec["power_iterations"])
        row = {"phase": phase, "learning_rate": lr, "step": step, "sharpness": eigenvalue,
               "stability_limit": stability_limit(lr, spec["momentum"]), "train_loss": float(loss(vector)),
               "train_accuracy": train_accuracy, "test_accuracy": test_accuracy}
        print(row, flush=True)
        return row

    small, large, momentum = spec["learning_rate"], spec["large_learning_rate"], spec["momentum"]
    vector = jnp.asarray(start)
    minimum, velocity = gradient_descent(loss, vector, jnp.zeros_like(vector), small, momentum, spec["steps"])
    rows = [measure(minimum, "minimum", small, spec["steps"])]
    for phase, lr in (("small_lr", small), ("large_lr", large)):
        current, current_velocity = minimum, velocity
        for done in range(spec["measure_every"], spec["continue_steps"] + 1, spec["measure_every"]):
            current, current_velocity = gradient_descent(loss, current, current_velocity, lr, momentum,
                                                         spec["measure_every"])
            rows.append(measure(current, phase, lr, spec["steps"] + done))
    return pd.DataFrame(rows)


def squared_loss(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Half the squared distance to the one-hot targets, mean over images (a loss with minima at
    finite weights, unlike cross-entropy, whose sharpness falls towards 0 as the margins grow)."""
    return 0.5 * jnp.mean(jnp.sum((logits - targets) ** 2, axis=1))


def checkpoint_index(epochs: np.ndarray, epoch: float) -> int:
    """Index of the checkpoint at ``epoch``; an error naming the checkpoints if there is none."""
    matches = np.flatnonzero(np.isclose(epochs, epoch))
    if not len(matches):
        raise ValueError(f"parent epoch {epoch} is not a checkpoint of {PARENT_FIGURE} "
                         f"(checkpoints at epochs {np.round(epochs, 4).tolist()})")
    return int(matches[0])


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    source = out_dir.parent / PARENT_FIGURE
    run = json.loads((source / "run.json").read_text())
    if run["seed"] != seed:
        raise ValueError(f"{PARENT_FIGURE} was run with seed {run['seed']}, this rule with {seed}: rerun it")
    recipe = run["settings"]  # the parent's network, data and SGD recipe
    _, apply_fn, _ = parent.network(recipe)
    train_set, test_set, _ = parent.data(recipe, seed, prepared[recipe["dataset"]])
    unflatten = unflattener(parent.initial_params(recipe, seed)[0])
    with np.load(source / "checkpoints.npz") as stored:
        checkpoints = {"params": stored["params"], "epochs": stored["epochs"]}
    indices = [checkpoint_index(checkpoints["epochs"], epoch) for epoch in settings["parent_epochs"]]
    with np.load(source / "probe_ntk.npz") as stored:
        save_npz(out_dir / "tangent_kernels.npz", {"parent_epochs": np.asarray(settings["parent_epochs"], float),
                                                   "kernels": stored["kernels"][indices]})

    history = children(settings, apply_fn, unflatten, checkpoints, run["steps_per_epoch"], train_set, test_set, seed)
    save_csv(out_dir / "child_histories.csv", history)
    save_csv(out_dir / "children.csv", child_table(history, pd.read_csv(source / "history.csv")))

    final_step = run["steps_per_epoch"] * recipe["epochs"]
    [(_, second)] = list(parent.train(recipe, seed, train_set, 1, [final_step]))
    save_csv(out_dir / "paths.csv", paths(settings["bezier"], apply_fn, unflatten, checkpoints["params"][-1],
                                          flat_params(second), train_set, test_set, seed))
    start = flat_params(parent.initial_params(recipe, seed, replicate=2)[0])
    save_csv(out_dir / "sharpness.csv", sharpness(settings["sharp"], apply_fn, start, train_set, test_set,
                                                  unflatten, seed))
