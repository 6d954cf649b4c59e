"""tab-noisy-labels and fig-noisy-labels-curve (Hu, Li and Yu 2020): training on noisy labels.

CIFAR-10 with symmetric label noise: a seeded subset of the training split, round(p n) of its
labels replaced by a uniformly drawn wrong class; a held-out part of these *noisy* labels
chooses the early-stopping epoch; the test set is clean. One ResNet family (stax,
``kernels.residual``) is trained five ways by minibatch SGD with momentum, the same schedule for
all: cross-entropy ("ce") and squared loss to one-hot targets ("mse"), each plain and with the
AUX variables ("ce_aux", "mse_aux": sqrt(lambda) b_i added to the outputs of training example
i, b trained jointly from 0 and dropped at test time), and the squared loss with RDI
("mse_rdi": + lambda/2 ||w - w(0)||^2).

Losses are sums over examples in the lecture; SGD uses their minibatch means, so RDI's penalty
is lambda/(2n) ||w - w(0)||^2 per step: over an epoch both AUX and RDI then move like gradient
descent on the lecture's objective with the same lambda (step lr / batch size).

lambda: in units of the mean per-logit diagonal of the empirical NTK at initialisation (so the
grid means the same for any network size); per method, the value of ``lambda_grid`` with the
best final accuracy on the held-out noisy labels at ``selection_noise`` (first replicate; ties:
the smaller lambda), then used at every noise level. The test set never takes part in a choice.

Written: ``histories.csv`` (per noise level, method, replicate and epoch: test accuracy, and
accuracy on the noisy training and held-out labels) and ``selection.csv`` (the lambda search).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd

from ntk_study.data.images import image_splits
from ntk_study.io import save_csv
from ntk_study.kernels.residual import resnet_from_spec
from ntk_study.noisy_labels import aux_shifted, aux_squared_loss, rdi_penalty, symmetric_label_noise
from ntk_study.training import as_float32, cross_entropy, momentum_epoch_fn, predict_labels

N_CLASSES = 10
REGULARISED = ("ce_aux", "mse_aux", "mse_rdi")


def method_parts(method: str) -> tuple[str, bool, bool]:
    """(base loss, uses AUX, uses RDI) of a method name such as "ce_aux"."""
    base, _, extra = method.partition("_")
    return base, extra == "aux", extra == "rdi"


def batch_objective(apply_fn, method: str, n_train: int):
    """The minibatch objective ``f(state, batch, x, labels, initial, lam)`` of ``method``; state = (w, b).

    lambda is an argument, not a constant, so one compiled step serves every lambda."""
    base, aux, rdi = method_parts(method)

    def objective(state, batch, x, labels, initial, lam):
        weights, aux_outputs = state
        outputs = apply_fn(weights, x[batch])
        targets = labels[batch]
        # Without AUX the shift sqrt(lambda) b is left out (lambda 0): the normal loss.
        aux_lam = lam if aux else 0.0
        if base == "ce":
            value = cross_entropy(aux_shifted(outputs, aux_outputs[batch], aux_lam), targets)
        else:
            one_hot = jax.nn.one_hot(targets, N_CLASSES, dtype=outputs.dtype)
            value = aux_squared_loss(outputs, aux_outputs[batch], one_hot, aux_lam) / len(batch)
        if rdi:
            value = value + rdi_penalty(weights, initial, lam) / n_train
        return value

    return objective


class Trainer:
    """Compiled once per network and method, reused for every noise level, lambda and replicate."""

    def __init__(self, apply_fn, settings: dict[str, Any], n_train: int):
        self.apply_fn, self.settings, self.n_train = apply_fn, settings, n_train
        self.steps_per_epoch = n_train // settings["batch_size"]
        self._epochs: dict[str, Any] = {}

    def epoch_fn(self, method: str):
        if method not in self._epochs:
            self._epochs[method] = momentum_epoch_fn(batch_objective(self.apply_fn, method, self.n_train),
                                                     self.settings["momentum"], self.settings["batch_size"],
                                                     self.steps_per_epoch)
        return self._epochs[method]

    def run(self, params: Any, method: str, lam: float, splits: dict[str, tuple[np.ndarray, np.ndarray]],
            key: jax.Array) -> pd.DataFrame:
        """Train one network; one row per epoch (0 = initialisation) with the three accuracies."""
        x, labels = (jnp.asarray(a) for a in splits["train"])
        if x.shape[0] != self.n_train:
            raise ValueError(f"the trainer was built for {self.n_train} training images, got {x.shape[0]}")
        epoch = self.epoch_fn(method)

        def accuracies(weights) -> dict[str, float]:
            return {f"{name}_accuracy": float(np.mean(predict_labels(self.apply_fn, weights, images) == truth))
                    for name, (images, truth) in splits.items()}

        rows = [{"epoch": 0, **accuracies(params)}]
        state = (params, jnp.zeros((self.n_train, N_CLASSES), jnp.float32))
        carry = (state, jax.tree_util.tree_map(jnp.zeros_like, state))
        data = (x, labels, params, jnp.float32(lam))
        for index in range(1, self.settings["epochs"] + 1):
            key, order_key = jax.random.split(key)
            carry = epoch(carry, data, jax.random.permutation(order_key, self.n_train), self.settings["learning_rate"])
            rows.append({"epoch": index, **accuracies(carry[0][0])})
        return pd.DataFrame(rows)


def noisy_splits(settings: dict[str, Any], prepared: Path, noise: float, seed: int
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Noisy training and held-out splits (labels replaced at rate ``noise``) and the clean test set."""
    (x_pool, y_pool), test = image_splits(prepared, settings["n_train"], settings["n_test"],
                                          settings["image_size"], seed)
    rng = np.random.default_rng([seed, round(1000 * noise)])
    noisy, _ = symmetric_label_noise(y_pool, noise, N_CLASSES, rng)
    # A random held-out part (the prepared image folder is ordered by class).
    n_held_out = int(round(settings["validation_fraction"] * len(noisy)))
    order = rng.permutation(len(noisy))
    held_out, kept = np.sort(order[:n_held_out]), np.sort(order[n_held_out:])
    return {"train": (x_pool[kept], noisy[kept]),
            "validation": (x_pool[held_out], noisy[held_out]),
            "test": test}


def network(settings: dict[str, Any]):
    return resnet_from_spec(settings["network"], N_CLASSES)


def ntk_diagonal_scale(apply_fn, params: Any, images: np.ndarray) -> float:
    """Mean per-logit diagonal of the empirical NTK, (1/K) sum_k ||df_k(x)/dw||^2, over ``images``
    (neural-tangents' empirical NTK of the same ``apply_fn``): the unit of lambda. neural-tangents
    normalises a traced axis by its size, so ``trace_axes=(-1,)`` already gives the mean over the
    K logits (tests/test_chapter5_fort.py checks this against the Jacobian)."""
    kernel_fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0)
    diagonal = [float(kernel_fn(jnp.asarray(image[None]), None, params)[0, 0]) for image in images]
    return float(np.mean(diagonal))


def run(settings: dict[str, Any], seed: int, prepared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    init_fn, apply_fn, _ = network(settings)
    image_shape = (-1, settings["image_size"], settings["image_size"], 3)

    def initial_params(replicate: int) -> tuple[Any, jax.Array]:
        init_key, order_key = jax.random.split(jax.random.PRNGKey(seed * 1000 + replicate))
        return as_float32(init_fn(init_key, image_shape)[1]), order_key  # the same for every method

    selection_splits = noisy_splits(settings, prepared, settings["selection_noise"], seed)
    trainer = Trainer(apply_fn, settings, len(selection_splits["train"][1]))

    def one_run(splits, method: str, lam: float, replicate: int) -> pd.DataFrame:
        params, order_key = initial_params(replicate)
        return trainer.run(params, method, lam, splits, order_key)

    unit = ntk_diagonal_scale(apply_fn, initial_params(0)[0], selection_splits["train"][0][:settings["ntk_probe"]])
    selection_rows = []
    chosen = {}
    for method in (m for m in settings["methods"] if m in REGULARISED):
        scores = []
        for relative in sorted(settings["lambda_grid"]):
            final = one_run(selection_splits, method, relative * unit, 0).iloc[-1]
            scores.append(final["validation_accuracy"])
            selection_rows.append({"method": method, "lambda_relative": relative, "lambda": relative * unit,
                                   "ntk_diagonal": unit, "noise": settings["selection_noise"],
                                   "final_validation_accuracy": final["validation_accuracy"]})
        # argmax keeps the first maximum: the grid is sorted, so ties go to the smaller lambda
        chosen[method] = sorted(settings["lambda_grid"])[int(np.argmax(scores))]
    for row in selection_rows:
        row["chosen"] = row["lambda_relative"] == chosen[row["method"]]

    frames = []
    for noise in settings["noise_levels"]:
        splits = noisy_splits(settings, prepared, noise, seed)
        for method in settings["methods"]:
            relative = chosen.get(method, 0.0)
            for replicate in range(settings["seeds"]):
                history = one_run(splits, method, relative * unit, replicate)
                frames.append(history.assign(noise=noise, method=method, replicate=replicate,
                                             lambda_relative=relative, **{"lambda": relative * unit}))
    histories = pd.concat(frames, ignore_index=True)
    columns = ["noise", "method", "lambda_relative", "lambda", "replicate", "epoch", "test_accuracy",
               "validation_accuracy", "train_accuracy"]
    return histories[columns], pd.DataFrame(selection_rows)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    histories, selection = run(settings, seed, prepared[settings["dataset"]])
    save_csv(out_dir / "histories.csv", histories)
    save_csv(out_dir / "selection.csv", selection)
