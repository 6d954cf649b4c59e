"""tab-cntk (Arora et al. 2019, 2020): CNTK-V and CNTK-GAP kernel regression on few-shot CIFAR-10
by depth, beside the same-architecture finite CNN trained on the same images.

Kernels and networks are defined as in the reference code (see kernels.convolutional): depth =
convolutions + 1; V trains every layer, GAP fixes the first convolution and the readout.

Every draw has its own class-balanced training pool and its own test images (disjoint from the
other draws'), so the spread of a quantity over draws carries both the training-set and the
test-set sampling, and its standard error over draws is an honest one.

``kernels`` writes, per draw, readout and depth, the train x train and test x train CNTK
(``kernels.npz``, keys ``draw<k>/<readout>/L<depth>/train`` and ``.../test``). ``compute``
solves the kernel regression (labels 0.9 / -0.1, no ridge) for every training-set size (the
first n images of each draw) and trains the finite CNN of the few-shot depth on the same images,
its learning rate picked per (n, readout) on held-out training images (``tune_learning_rates``);
one row per (draw, n, readout, depth, model) in ``accuracies.csv``.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntk_study.data.images import few_shot_pool
from ntk_study.io import npz_writer, save_csv
from ntk_study.kernels.convolutional import READOUTS, cntk_by_depth, convolutional, trained
from ntk_study.padding import pad_rows

N_CLASSES = 10
# The tuning pool's seed offset: its own draw of training images, never the test split.
TUNING_SEED_OFFSET = 7919
# Training rows are padded to a multiple of this (one compilation per padded size).
ROW_PADDING = 16


Images = tuple[np.ndarray, np.ndarray]


def as_default_float(tree: Any) -> Any:
    """Arrays (parameters, images) in JAX's default float: float32, or float64 where x64 is on (the
    test session). Not float32 always: stax's convolutions scale by a numpy float64, which under x64
    lifts float32 activations to float64, and the next convolution refuses the mixed dtypes."""
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, dtype), tree)


def draws_with_test_sets(settings: dict[str, Any], seed: int, prepared: dict[str, Path]) -> list[tuple[Images, Images]]:
    """Per draw: (training pool of max(train_sizes) images, its own ``n_test`` test images); the
    draws' test images are disjoint (one seeded sample of draws x n_test test images, split)."""
    n_test = settings["n_test"]
    pools, (x_test, y_test) = few_shot_pool(prepared["cifar10"], max(settings["train_sizes"]),
                                            settings["draws"] * n_test, settings["image_size"], settings["draws"],
                                            seed)
    return [(pool, (x_test[k * n_test:(k + 1) * n_test], y_test[k * n_test:(k + 1) * n_test]))
            for k, pool in enumerate(pools)]


def kernels(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    timings = []
    with npz_writer(out_dir / "kernels.npz") as put:
        for draw, ((x_train, _), (x_test, _)) in enumerate(draws_with_test_sets(settings, seed, prepared)):
            began = time.perf_counter()
            train = cntk_by_depth(x_train, x_train, settings["depths"])
            test = cntk_by_depth(x_test, x_train, settings["depths"])
            for (readout, depth), gram in train.items():
                put(f"draw{draw}/{readout}/L{depth}/train", gram)
                put(f"draw{draw}/{readout}/L{depth}/test", test[readout, depth])
            timings.append({"draw": draw, "train_images": len(x_train), "test_images": len(x_test),
                            "seconds": round(time.perf_counter() - began, 3)})
            print(timings[-1], flush=True)
    save_csv(out_dir / "kernel_times.csv", pd.DataFrame(timings))


def targets(labels: np.ndarray) -> np.ndarray:
    """One-hot regression targets of Arora et al.: 0.9 for the class, -0.1 elsewhere."""
    return np.eye(N_CLASSES)[labels] - 0.1


def squared_to_targets(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Half the squared distance to the ``targets`` of ``labels`` (traceable), mean over images."""
    return 0.5 * jnp.mean(jnp.sum((logits - (jax.nn.one_hot(labels, N_CLASSES) - 0.1)) ** 2, axis=1))


def kernel_regression_accuracy(k_train: np.ndarray, k_test: np.ndarray, y_train: np.ndarray,
                               y_test: np.ndarray) -> float:
    """Accuracy of f(x) = K(x, X) K(X, X)^-1 Y (no ridge; least squares if K is singular)."""
    coefficients = np.linalg.lstsq(k_train.astype(np.float64), targets(y_train), rcond=None)[0]
    return float(np.mean(np.argmax(k_test @ coefficients, axis=1) == y_test))


@functools.lru_cache(maxsize=None)
def _cnn_programs(depth: int, readout: str, width: int):
    """Jitted init, one full-batch Adam step and prediction of one CNN shape. The learning rate is
    an argument, so every rate of the grid shares one compilation per padded size; padded rows are
    masked out of the loss. Steps run one jitted call at a time: inside a ``lax.scan`` a
    convolution's gradient ran 20-30x slower on XLA's CPU backend (see training.momentum_epoch_fn)."""
    from jax.example_libraries import optimizers

    init_fn, apply_fn, _ = convolutional(depth, readout, width, N_CLASSES)
    init = jax.jit(lambda key, x: as_default_float(init_fn(key, x.shape)[1]))
    # Adam's state layout does not depend on the rate: one init and one parameter read-out serve all.
    start, _, get_params = optimizers.adam(0.0)

    def loss(params, x, y, row_mask):
        squared = jnp.sum((apply_fn(trained(params, readout), x) - y) ** 2, axis=1)
        return 0.5 * jnp.sum(row_mask * squared) / jnp.sum(row_mask)

    @jax.jit
    def step(index, state, learning_rate, x, y, row_mask):
        value, grads = jax.value_and_grad(loss)(get_params(state), x, y, row_mask)
        return optimizers.adam(learning_rate)[1](index, grads, state), value

    predict = jax.jit(lambda params, x: jnp.argmax(apply_fn(params, x), axis=1))
    return init, jax.jit(start), step, get_params, predict


def train_cnn(x_train: np.ndarray, y_train: np.ndarray, depth: int, readout: str, cnn: dict[str, Any],
              learning_rate: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """The finite CNN of ``convolutional`` (NTK parameterisation, the layers its kernel trains),
    full-batch Adam on the squared loss to the 0.9 / -0.1 targets until the training loss (mean
    over images of 1/2 ||f(x) - y||^2) is below ``cnn["stop_loss"]`` or ``cnn["max_steps"]`` steps.
    Returns the parameters and {steps, train_loss, converged}."""
    init, start, step, get_params, _ = _cnn_programs(depth, readout, cnn["width"])
    rows = -(-len(y_train) // ROW_PADDING) * ROW_PADDING
    x, y, row_mask, learning_rate = as_default_float((pad_rows(x_train, rows), pad_rows(targets(y_train), rows),
                                                      np.arange(rows) < len(y_train), learning_rate))
    state = start(init(jax.random.PRNGKey(seed), x))
    check_every = 25  # reading the loss back syncs with the device; not every step
    index, value = 0, float("inf")
    while index < cnn["max_steps"] and value >= cnn["stop_loss"]:
        for _ in range(min(check_every, cnn["max_steps"] - index)):
            state, loss = step(index, state, learning_rate, x, y, row_mask)
            index += 1
        value = float(loss)
    return get_params(state), {"steps": index, "train_loss": value, "converged": value < cnn["stop_loss"]}


def cnn_predict(params: Any, x: np.ndarray, depth: int, readout: str, cnn: dict[str, Any]) -> np.ndarray:
    predict = _cnn_programs(depth, readout, cnn["width"])[-1]
    return np.asarray(predict(params, as_default_float(x)))


def tune_learning_rates(settings: dict[str, Any], seed: int, prepared: dict[str, Path]) -> pd.DataFrame:
    """Pick the CNN's Adam learning rate per (n, readout) from ``cnn["learning_rates"]`` on held-out
    training images: a tuning pool of its own (training split only) gives the n training images
    (its first n) and ``cnn["validation_images"]`` validation images (its last ones). The pick is
    the best validation accuracy among the runs that converged (the lowest final loss if none did).
    One row per (n, readout, rate), ``chosen`` marking the pick."""
    cnn, depth = settings["cnn"], settings["few_shot_depth"]
    n_max = max(settings["train_sizes"])
    pools, _ = few_shot_pool(prepared["cifar10"], n_max + cnn["validation_images"], 0, settings["image_size"],
                             1, seed + TUNING_SEED_OFFSET)
    x_pool, y_pool = pools[0]
    x_val, y_val = x_pool[n_max:], y_pool[n_max:]
    rows = []
    for n in settings["train_sizes"]:
        for readout in READOUTS:
            for rate in cnn["learning_rates"]:
                params, fit = train_cnn(x_pool[:n], y_pool[:n], depth, readout, cnn, rate, seed + TUNING_SEED_OFFSET)
                accuracy = float(np.mean(cnn_predict(params, x_val, depth, readout, cnn) == y_val))
                rows.append({"n_train": n, "readout": readout, "learning_rate": rate,
                             "validation_accuracy": 100 * accuracy, **fit})
                print("tuning", rows[-1], flush=True)
    return mark_chosen(pd.DataFrame(rows))


def mark_chosen(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with a ``chosen`` column: per (n_train, readout), the best validation accuracy among
    the runs that converged; the lowest final training loss if none did."""
    runs = runs.assign(chosen=False)
    for _, group in runs.groupby(["n_train", "readout"]):
        converged = group[group["converged"]]
        pick = converged["validation_accuracy"].idxmax() if len(converged) else group["train_loss"].idxmin()
        runs.loc[pick, "chosen"] = True
    return runs


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    depth, cnn = settings["few_shot_depth"], settings["cnn"]
    tuning = tune_learning_rates(settings, seed, prepared)
    chosen = tuning[tuning["chosen"]].set_index(["n_train", "readout"])
    rows = []
    with np.load(out_dir / "kernels.npz") as stored:
        for draw, ((x_train, y_train), (x_test, y_test)) in enumerate(draws_with_test_sets(settings, seed, prepared)):
            for n in settings["train_sizes"]:
                for readout in READOUTS:
                    for kernel_depth in settings["depths"]:
                        key = f"draw{draw}/{readout}/L{kernel_depth}"
                        accuracy = kernel_regression_accuracy(stored[f"{key}/train"][:n, :n],
                                                              stored[f"{key}/test"][:, :n], y_train[:n], y_test)
                        rows.append({"draw": draw, "n_train": n, "readout": readout, "depth": kernel_depth,
                                     "model": "CNTK", "accuracy": 100 * accuracy})
                    rate = float(chosen.loc[(n, readout), "learning_rate"])
                    params, fit = train_cnn(x_train[:n], y_train[:n], depth, readout, cnn, rate, seed + draw)
                    accuracy = float(np.mean(cnn_predict(params, x_test, depth, readout, cnn) == y_test))
                    rows.append({"draw": draw, "n_train": n, "readout": readout, "depth": depth, "model": "CNN",
                                 "accuracy": 100 * accuracy, "learning_rate": rate,
                                 "validation_accuracy": float(chosen.loc[(n, readout), "validation_accuracy"]),
                                 **fit})
                    print(rows[-1], flush=True)
    save_csv(out_dir / "accuracies.csv", pd.DataFrame(rows))
