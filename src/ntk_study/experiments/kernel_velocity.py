"""fig-kernel-velocity (Fort et al. 2020): ResNets trained on CIFAR-10 with checkpoints, and the
empirical NTK on a fixed probe set at every checkpoint.

Several "parent" runs, one per replicate id in ``parent_replicates``: each its own initialisation and
data order (``initial_params``), on the same training images and probes. A run is one replicate of
every claim of fig-kernel-velocity and fig-parent-child.

One network family (``kernels.residual``, stax) trained by minibatch SGD with momentum on the
mean cross-entropy at a constant learning rate. Checkpoints: ``dense_per_epoch`` per epoch in the
first ``dense_epochs`` epochs, then one per epoch (``kernel_dynamics.checkpoint_steps``).

Written: ``checkpoints.npz`` (the flat parameters of every parent at every checkpoint, shape
(parents, checkpoints, parameters), with the replicate ids, steps and epochs), ``history.csv``
(per parent and checkpoint: training loss and accuracy, test accuracy), ``probe_ntk.npz`` (the
logit-traced empirical NTK on ``probes`` seeded training images, per parent and checkpoint) and
``run.json`` (the settings and seed, which fig-parent-child reuses to rebuild the same networks
and data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from ntk_study.data.images import image_splits
from ntk_study.io import save_csv, save_json, save_npz
from ntk_study.kernel_dynamics import checkpoint_steps, evaluate, flat_params, probe_ntk, train_with_checkpoints
from ntk_study.kernels.residual import resnet_from_spec
from ntk_study.training import as_float32

N_CLASSES = 10


def network(settings: dict[str, Any]):
    return resnet_from_spec(settings["network"], N_CLASSES)


def data(settings: dict[str, Any], seed: int, prepared: Path):
    """(x_train, y_train), (x_test, y_test) and the probe indices into the training images."""
    train, test = image_splits(prepared, settings["n_train"], settings["n_test"], settings["image_size"], seed)
    probes = np.sort(np.random.default_rng([seed, 1]).choice(len(train[1]), settings["probes"], replace=False))
    return train, test, probes


def initial_params(settings: dict[str, Any], seed: int, replicate: int = 0):
    """The initial parameters and the data-order key of one training run (the parents' replicate ids
    are ``parent_replicates``; fig-parent-child draws its other runs from ids outside that list)."""
    init_fn, _, _ = network(settings)
    init_key, order_key = jax.random.split(jax.random.PRNGKey(seed * 1000 + replicate))
    shape = (-1, settings["image_size"], settings["image_size"], 3)
    return as_float32(init_fn(init_key, shape)[1]), order_key


def train(settings: dict[str, Any], seed: int, train_set, replicate: int, save_at: list[int]):
    """The checkpoints (step, params) of one run with the figure's SGD recipe."""
    _, apply_fn, _ = network(settings)
    params, order_key = initial_params(settings, seed, replicate)
    x, labels = train_set
    yield from train_with_checkpoints(apply_fn, params, x, labels, order_key,
                                      learning_rate=settings["learning_rate"], momentum=settings["momentum"],
                                      batch_size=settings["batch_size"], epochs=settings["epochs"], save_at=save_at)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    _, apply_fn, _ = network(settings)
    train_set, test_set, probes = data(settings, seed, prepared[settings["dataset"]])
    steps_per_epoch = settings["n_train"] // settings["batch_size"]
    save_at = checkpoint_steps(steps_per_epoch, settings["epochs"], settings["dense_epochs"],
                               settings["dense_per_epoch"])
    replicates = list(settings["parent_replicates"])
    flat, kernels, rows = [], [], []
    for replicate in replicates:
        flat.append([])
        kernels.append([])
        for step, params in train(settings, seed, train_set, replicate, save_at):
            train_loss, train_accuracy = evaluate(apply_fn, params, *train_set)
            _, test_accuracy = evaluate(apply_fn, params, *test_set)
            flat[-1].append(flat_params(params))
            kernels[-1].append(probe_ntk(apply_fn, params, train_set[0][probes]))
            rows.append({"replicate": replicate, "step": step, "epoch": step / steps_per_epoch,
                         "train_loss": train_loss, "train_accuracy": train_accuracy, "test_accuracy": test_accuracy})
            print(rows[-1], flush=True)
    steps = np.array(save_at)
    epochs = steps / steps_per_epoch
    save_npz(out_dir / "checkpoints.npz", {"replicates": np.array(replicates), "steps": steps, "epochs": epochs,
                                           "params": np.array(flat)})
    save_npz(out_dir / "probe_ntk.npz", {"replicates": np.array(replicates), "steps": steps, "epochs": epochs,
                                         "kernels": np.array(kernels), "probe_labels": train_set[1][probes]})
    save_csv(out_dir / "history.csv", pd.DataFrame(rows))
    save_json(out_dir / "run.json", {"settings": settings, "seed": seed, "steps_per_epoch": steps_per_epoch})
