"""tab-noisy-labels and fig-noisy-labels-curve (Hu, Li and Yu 2020): training on noisy labels.

Images with symmetric label noise: per replicate, a seeded subset of the training split with
round(p n) of its labels replaced by a uniformly drawn wrong class; a held-out part of these
*noisy* labels (one early-stopping rule), a separate *clean* validation set drawn from the rest of
the training split (the other rule, the published baseline: the lecture's early stopping "needs a
clean validation set"), and the clean test set. One network (``network``: a ResNet of
``kernels.residual`` or a fully-connected classifier of ``kernels.fully_connected``) is trained
five ways by minibatch SGD with momentum, the same schedule for all: cross-entropy ("ce") and
squared loss to one-hot targets ("mse"), each plain and with the AUX variables ("ce_aux",
"mse_aux": sqrt(lambda) b_i added to the outputs of training example i, b trained jointly from
0 and dropped at test time), and the squared loss with RDI ("mse_rdi": + lambda/2 ||w - w(0)||^2).

Losses are sums over examples in the lecture; SGD uses their minibatch means, so RDI's penalty
is lambda/(2n) ||w - w(0)||^2 per step: over an epoch both AUX and RDI then move like gradient
descent on the lecture's objective with the same lambda (step lr / batch size).

One replicate is an initialisation, a batch order and a draw of the images and noisy labels,
shared by the five methods (paired). lambda: in units of the mean per-logit diagonal of the
empirical NTK at initialisation (so the grid means the same for any network size); the grid
values at or above the regulariser's stability limit (``noisy_labels.aux_stability_limit`` for the
AUX variables, ``rdi_stability_limit`` for RDI's penalty) are not run. Per method, the value with
the best final accuracy on the held-out noisy labels, summed over ``selection_seeds`` replicates
of their own at ``selection_noise`` (neither reported; ties: the smaller lambda), is then used at
every noise level. The test set never takes part in a choice.

Written: ``histories.csv`` (per noise level, method, replicate and epoch: test accuracy, accuracy
on the noisy training and held-out labels and on the clean validation set, and the RMS of the AUX
variables b) and ``selection.csv`` (the lambda search, with the stability limit).
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
from ntk_study.kernels.fully_connected import image_classifier
from ntk_study.kernels.residual import resnet_from_spec
from ntk_study.noisy_labels import (
    aux_shifted,
    aux_squared_loss,
    aux_stability_limit,
    rdi_penalty,
    rdi_stability_limit,
    symmetric_label_noise,
)
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

        rows = [{"epoch": 0, **accuracies(params), "aux_rms": 0.0}]
        state = (params, jnp.zeros((self.n_train, N_CLASSES), jnp.float32))
        carry = (state, jax.tree_util.tree_map(jnp.zeros_like, state))
        data = (x, labels, params, jnp.float32(lam))
        for index in range(1, self.settings["epochs"] + 1):
            key, order_key = jax.random.split(key)
            carry = epoch(carry, data, jax.random.permutation(order_key, self.n_train), self.settings["learning_rate"])
            # sqrt(lambda) b is what AUX adds to the outputs: its RMS marks a diverging run (non-finite
            # or growing without bound); 0 for methods without AUX.
            shift = float(jnp.sqrt(jnp.mean(carry[0][1] ** 2)) * np.sqrt(lam)) if method_parts(method)[1] else 0.0
            rows.append({"epoch": index, **accuracies(carry[0][0]), "aux_rms": shift})
        return pd.DataFrame(rows)


def noisy_splits(settings: dict[str, Any], prepared: Path, noise: float, seed: int
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One replicate's data: noisy training and held-out splits (labels replaced at rate ``noise``),
    a clean validation set (``n_clean_validation`` other training-split images, true labels) and
    the clean test set, all drawn with ``seed``."""
    n_pool = settings["n_train"]
    (x_all, y_all), test = image_splits(prepared, n_pool + settings["n_clean_validation"], settings["n_test"],
                                        settings["image_size"], seed)
    rng = np.random.default_rng([seed, round(1000 * noise)])
    # A random split of the drawn images (the prepared image folder is ordered by class).
    order = rng.permutation(len(y_all))
    pool, clean = np.sort(order[:n_pool]), np.sort(order[n_pool:])
    noisy, _ = symmetric_label_noise(y_all[pool], noise, N_CLASSES, rng)
    n_held_out = int(round(settings["validation_fraction"] * n_pool))
    held_order = rng.permutation(n_pool)
    held_out, kept = np.sort(held_order[:n_held_out]), np.sort(held_order[n_held_out:])
    x_pool = x_all[pool]
    return {"train": (x_pool[kept], noisy[kept]),
            "validation": (x_pool[held_out], noisy[held_out]),
            "clean_validation": (x_all[clean], y_all[clean]),
            "test": test}


def network(settings: dict[str, Any]):
    """The configured classifier: ``network`` names it ("resnet" or "fully_connected") and the
    section of that name holds its shape."""
    spec = settings[settings["network"]]
    if settings["network"] == "fully_connected":
        return image_classifier(spec["depth"], spec["width"], N_CLASSES)
    return resnet_from_spec(spec, N_CLASSES)


def stability_limit(settings: dict[str, Any], n_train: int, method: str) -> float:
    """The stability limit on lambda (absolute units) of ``method``'s regulariser under this SGD
    schedule: the AUX variables' own update for AUX, the RDI penalty's for RDI."""
    if method_parts(method)[1]:
        return aux_stability_limit(settings["learning_rate"], settings["momentum"], settings["batch_size"],
                                   n_train // settings["batch_size"])
    return rdi_stability_limit(settings["learning_rate"], settings["momentum"], n_train)


def ntk_diagonal_scale(apply_fn, params: Any, images: np.ndarray) -> float:
    """Mean per-logit diagonal of the empirical NTK, (1/K) sum_k ||df_k(x)/dw||^2, over ``images``
    (neural-tangents' empirical NTK of the same ``apply_fn``): the unit of lambda. neural-tangents
    normalises a traced axis by its size, so ``trace_axes=(-1,)`` already gives the mean over the
    K logits (tests/test_chapter5_fort.py checks this against the Jacobian)."""
    kernel_fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0)
    diagonal = [float(kernel_fn(jnp.asarray(image[None]), None, params)[0, 0]) for image in images]
    return float(np.mean(diagonal))


def replicate_seed(seed: int, replicate: int) -> int:
    """The seed of a replicate's images, labels, initialisation and batch order."""
    return seed * 1000 + replicate


def run(settings: dict[str, Any], seed: int, prepared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    init_fn, apply_fn, _ = network(settings)
    n_train = settings["n_train"] - int(round(settings["validation_fraction"] * settings["n_train"]))
    trainer = Trainer(apply_fn, settings, n_train)

    def initial_params(replicate: int, splits) -> tuple[Any, jax.Array]:
        init_key, order_key = jax.random.split(jax.random.PRNGKey(replicate_seed(seed, replicate)))
        return as_float32(init_fn(init_key, (-1, *splits["train"][0].shape[1:]))[1]), order_key

    def one_run(splits, method: str, lam: float, replicate: int) -> pd.DataFrame:
        params, order_key = initial_params(replicate, splits)  # the same for every method
        return trainer.run(params, method, lam, splits, order_key)

    first = settings.get("first_replicate", 0)
    reported = range(first, first + settings["seeds"])
    # lambda is chosen on replicates of its own, numbered after the reported ones.
    selection_replicates = range(reported.stop, reported.stop + settings["selection_seeds"])
    selection_splits = {r: noisy_splits(settings, prepared, settings["selection_noise"], replicate_seed(seed, r))
                        for r in selection_replicates}
    probe = selection_replicates[0]
    unit = ntk_diagonal_scale(apply_fn, initial_params(probe, selection_splits[probe])[0],
                              selection_splits[probe]["train"][0][:settings["ntk_probe"]])
    selection_rows = []
    chosen = {}
    for method in (m for m in settings["methods"] if m in REGULARISED):
        limit = stability_limit(settings, n_train, method)
        grid = sorted(relative for relative in settings["lambda_grid"] if relative * unit < limit)
        if not grid:
            raise ValueError(f"every lambda_grid value is at or above {method}'s stability limit "
                             f"{limit / unit:.3g} (x the NTK diagonal) of this SGD schedule: add smaller values")
        scores = []
        for relative in grid:
            finals = [one_run(selection_splits[r], method, relative * unit, r).iloc[-1] for r in selection_replicates]
            scores.append(float(np.mean([final["validation_accuracy"] for final in finals])))
            selection_rows.append({"method": method, "lambda_relative": relative, "lambda": relative * unit,
                                   "ntk_diagonal": unit, "stability_limit": limit,
                                   "noise": settings["selection_noise"], "replicates": len(finals),
                                   "final_validation_accuracy": scores[-1],
                                   "largest_aux_rms": max(final["aux_rms"] for final in finals)})
        # argmax keeps the first maximum: the grid is sorted, so ties go to the smaller lambda
        chosen[method] = grid[int(np.argmax(scores))]
    for row in selection_rows:
        row["chosen"] = row["lambda_relative"] == chosen[row["method"]]

    frames = []
    for noise in settings["noise_levels"]:
        for replicate in reported:
            splits = noisy_splits(settings, prepared, noise, replicate_seed(seed, replicate))
            for method in settings["methods"]:
                relative = chosen.get(method, 0.0)
                history = one_run(splits, method, relative * unit, replicate)
                frames.append(history.assign(noise=noise, method=method, replicate=replicate,
                                             lambda_relative=relative, **{"lambda": relative * unit}))
    histories = pd.concat(frames, ignore_index=True)
    columns = ["noise", "method", "lambda_relative", "lambda", "replicate", "epoch", "test_accuracy",
               "validation_accuracy", "clean_validation_accuracy", "train_accuracy", "aux_rms"]
    return histories[columns], pd.DataFrame(selection_rows)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    histories, selection = run(settings, seed, prepared[settings["dataset"]])
    save_csv(out_dir / "histories.csv", histories)
    save_csv(out_dir / "selection.csv", selection)
