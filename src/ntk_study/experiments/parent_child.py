"""fig-parent-child (Fort et al. 2020): learning with the tangent kernel of epoch t, and three
views of the loss landscape.

Reads fig-kernel-velocity's runs (settings, checkpoints, probe kernels, history): the "parents"
are those networks at their checkpoints, one per replicate id of ``parent_replicates``.

- Children: for every parent and every parent epoch t in ``parent_epochs``, the lecture's child
  du/dt = -H_t (u - y), run to convergence: kernel regression with the parent's empirical NTK at
  w(t) (logit-traced, ``kernel_dynamics.jacobian_features``) on ``child.n_train`` of the parent's
  training images (seeded, the same for every child) to one-hot targets, from a zero function,
  with a ridge of ``child.ridge`` times the mean kernel diagonal for a stable solve; its test error
  on ``child.n_test`` of the parent's test images. Solved in closed form, a child's error measures
  its kernel alone: not how far a fixed budget of SGD got (an early trial trained linearised
  children for 8 epochs; the one at t = 0 stopped at training loss 1.6). The zero start leaves out
  the parent's function at t, whose logits are on the cross-entropy's scale, not the squared
  loss's. ``children.csv``: per child its test accuracy and the kernel distance of its training
  kernel to the first child's, beside the parent's test accuracy at t and at the end;
  ``tangent_kernels.npz``: every child's training kernel (parents, parent epochs, n, n).
- Mode connectivity: a second network trained with the parents' recipe from another initialisation
  and data order (replicate id ``SECOND_SOLUTION``); the training loss and test error along the
  straight line between it and the first parent's final solution and along a quadratic Bezier
  curve between them whose control point is trained (``landscape.train_bezier_control``).
  ``paths.csv``.
- Sharp minimum (an illustration of linear stability, not evidence: see the catalogue): on
  ``sharp.n_train`` of the training images, full-batch gradient descent with heavy-ball momentum
  at the small learning rate reaches a minimum of the squared loss to one-hot targets
  (cross-entropy has no minimum at finite weights on separable data); from there it continues for
  ``sharp.continue_steps`` at the small and at the large learning rate. The top Hessian eigenvalue
  of the training loss (power iteration) every ``sharp.measure_every`` steps, with the stability
  limit 2 (1 + momentum) / lr, the training loss and the test accuracy. ``sharpness.csv``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy.linalg

from ntk_study.experiments import kernel_velocity as parent
from ntk_study.io import save_csv, save_npz
from ntk_study.kernel_dynamics import evaluate, flat_params, jacobian_features, kernel_distance, unflattener
from ntk_study.landscape import (
    bezier_point,
    gradient_descent,
    linear_point,
    stability_limit,
    top_hessian_eigenvalue,
    train_bezier_control,
)
from ntk_study.training import cross_entropy

PARENT_FIGURE = "fig-kernel-velocity"
N_CLASSES = 10


# Replicate ids of fig-kernel-velocity's network family that are not parents.
SECOND_SOLUTION, SHARP_MINIMUM = 1, 2


def kernel_regression_child(apply_fn, params: Any, train_set, test_set, ridge: float) -> dict[str, Any]:
    """The child of the parent at ``params`` run to convergence on the squared loss from a zero
    function: f(x) = K(x, X) (K(X, X) + ridge mean(diag K) I)^-1 Y with K the logit-traced empirical NTK
    at ``params`` and Y the one-hot labels. Returns its test accuracy and training kernel K(X, X)."""
    x, labels = train_set
    train_features = jacobian_features(apply_fn, params, x)
    test_features = jacobian_features(apply_fn, params, test_set[0])
    kernel = (train_features @ train_features.T).astype(np.float64)
    cross = (test_features @ train_features.T).astype(np.float64)
    kernel = (kernel + kernel.T) / 2
    targets = np.eye(N_CLASSES)[labels]
    coefficients = scipy.linalg.solve(kernel + ridge * np.mean(np.diag(kernel)) * np.eye(len(kernel)), targets,
                                      assume_a="pos")
    predictions = np.argmax(cross @ coefficients, axis=1)
    return {"test_accuracy": float(np.mean(predictions == test_set[1])), "kernel": kernel}


def child_subsets(child: dict[str, Any], train_set, test_set, seed: int):
    """The children's seeded training and test images (the same for every child)."""
    rng = np.random.default_rng([seed, 3])
    train_rows = np.sort(rng.choice(len(train_set[1]), child["n_train"], replace=False))
    test_rows = np.sort(rng.choice(len(test_set[1]), child["n_test"], replace=False))
    return ((train_set[0][train_rows], train_set[1][train_rows]), (test_set[0][test_rows], test_set[1][test_rows]))


def children(settings, apply_fn, unflatten, checkpoints, steps_per_epoch, train_set, test_set, seed
             ) -> tuple[pd.DataFrame, np.ndarray]:
    """Every parent's children at ``parent_epochs``: a table and their training kernels
    (parents, parent epochs, n, n)."""
    child_train, child_test = child_subsets(settings["child"], train_set, test_set, seed)
    rows, kernels = [], []
    for replicate, parent_params in zip(checkpoints["replicates"], checkpoints["params"]):
        kernels.append([])
        for epoch in settings["parent_epochs"]:
            origin = unflatten(parent_params[checkpoint_index(checkpoints["epochs"], epoch)])
            child = kernel_regression_child(apply_fn, origin, child_train, child_test, settings["child"]["ridge"])
            kernels[-1].append(child["kernel"])
            rows.append({"replicate": int(replicate), "parent_epoch": epoch,
                         "parent_step": round(epoch * steps_per_epoch), "child_test_accuracy": child["test_accuracy"],
                         "kernel_distance_from_first": kernel_distance(kernels[-1][0], child["kernel"])})
            print(rows[-1], flush=True)
    return pd.DataFrame(rows), np.array(kernels, dtype=np.float32)


def child_table(children_frame: pd.DataFrame, parent_history: pd.DataFrame) -> pd.DataFrame:
    """The children beside their parent's test accuracy at the spawning step and at the end of
    its training."""
    history = parent_history.set_index(["replicate", "step"])["test_accuracy"]
    at_parent = history.loc[list(zip(children_frame["replicate"], children_frame["parent_step"]))].to_numpy()
    final = parent_history.sort_values("step").groupby("replicate").last()
    return children_frame.assign(parent_test_accuracy=at_parent,
                                 final_parent_test_accuracy=final.loc[children_frame["replicate"],
                                                                      "test_accuracy"].to_numpy(),
                                 final_parent_epoch=final.loc[children_frame["replicate"], "epoch"].to_numpy())


def solution_pairs(parent_replicates: list[int]) -> list[tuple[int, int]]:
    """Disjoint pairs of final solutions for the mode-connectivity paths, as replicate ids: the first
    parent with the second solution (``SECOND_SOLUTION``), then the other parents two by two."""
    rest = list(parent_replicates[1:])
    return [(parent_replicates[0], SECOND_SOLUTION), *zip(rest[0::2], rest[1::2])]


def paths(spec, apply_fn, unflatten, end_a, end_b, train_set, test_set, seed, pair: int = 0) -> pd.DataFrame:
    """Training loss and test error along the line and the trained Bezier curve between two solutions
    (``pair`` numbers the pair and seeds its curve's training)."""
    x, labels = (jnp.asarray(a) for a in train_set)

    def batch_loss(vector, batch):
        return cross_entropy(apply_fn(unflatten(vector), x[batch]), labels[batch])

    start, end = jnp.asarray(end_a), jnp.asarray(end_b)
    control = train_bezier_control(batch_loss, start, end, jax.random.PRNGKey(seed * 1000 + 900 + pair),
                                   n=len(labels), batch_size=spec["batch_size"], epochs=spec["epochs"],
                                   learning_rate=spec["learning_rate"], momentum=spec["momentum"])
    rows = []
    for t in np.linspace(0.0, 1.0, spec["path_points"]):
        for name, point in (("line", linear_point(t, start, end)), ("bezier", bezier_point(t, start, control, end))):
            params = unflatten(point)
            train_loss, train_accuracy = evaluate(apply_fn, params, *train_set)
            test_loss, test_accuracy = evaluate(apply_fn, params, *test_set)
            rows.append({"pair": pair, "path": name, "t": float(t), "train_loss": train_loss,
                         "train_accuracy": train_accuracy,
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
    recipe = run["settings"]  # the parents' network, data and SGD recipe
    clash = {SECOND_SOLUTION, SHARP_MINIMUM} & set(recipe["parent_replicates"])
    if clash:
        raise ValueError(f"{PARENT_FIGURE}'s parent_replicates {recipe['parent_replicates']} include "
                         f"{sorted(clash)}, the replicate ids of this figure's second solution ({SECOND_SOLUTION}) "
                         f"and sharp-minimum run ({SHARP_MINIMUM}): pick other ids")
    _, apply_fn, _ = parent.network(recipe)
    train_set, test_set, _ = parent.data(recipe, seed, prepared[recipe["dataset"]])
    unflatten = unflattener(parent.initial_params(recipe, seed)[0])
    with np.load(source / "checkpoints.npz") as stored:
        checkpoints = {name: stored[name] for name in ("replicates", "params", "epochs")}

    table, kernels = children(settings, apply_fn, unflatten, checkpoints, run["steps_per_epoch"], train_set,
                              test_set, seed)
    save_npz(out_dir / "tangent_kernels.npz", {"replicates": checkpoints["replicates"],
                                               "parent_epochs": np.asarray(settings["parent_epochs"], float),
                                               "kernels": kernels})
    save_csv(out_dir / "children.csv", child_table(table, pd.read_csv(source / "history.csv")))

    final_step = run["steps_per_epoch"] * recipe["epochs"]
    [(_, second)] = list(parent.train(recipe, seed, train_set, SECOND_SOLUTION, [final_step]))
    solutions = {int(r): params[-1] for r, params in zip(checkpoints["replicates"], checkpoints["params"])}
    solutions[SECOND_SOLUTION] = flat_params(second)
    frames = [paths(settings["bezier"], apply_fn, unflatten, solutions[a], solutions[b], train_set, test_set, seed,
                    pair=index).assign(solution_a=a, solution_b=b)
              for index, (a, b) in enumerate(solution_pairs(list(recipe["parent_replicates"])))]
    save_csv(out_dir / "paths.csv", pd.concat(frames, ignore_index=True))
    start = flat_params(parent.initial_params(recipe, seed, replicate=SHARP_MINIMUM)[0])
    save_csv(out_dir / "sharpness.csv", sharpness(settings["sharp"], apply_fn, start, train_set, test_set,
                                                  unflatten, seed))
