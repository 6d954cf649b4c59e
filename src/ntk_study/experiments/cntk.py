"""tab-cntk (Arora et al. 2019, 2020): CNTK-V and CNTK-GAP kernel regression on few-shot CIFAR-10
by depth, beside the same-architecture finite CNN trained on the same images.

``kernels`` writes, per draw, readout and depth, the train x train and test x train CNTK
(``kernels.npz``, keys ``draw<k>/<readout>/L<depth>/train`` and ``.../test``). ``compute``
solves the kernel regression (labels 0.9 / -0.1, no ridge) for every training-set size (the
first n images of each draw) and trains the finite CNN of the few-shot depth on the same
images; one row per (draw, n, readout, depth, model) in ``accuracies.csv``.
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
from ntk_study.kernels.convolutional import READOUTS, cntk_by_depth, convolutional
from ntk_study.padding import pad_rows
from ntk_study.training import adam_full_batch, as_float32

N_CLASSES = 10


def _data(settings: dict[str, Any], seed: int, prepared: dict[str, Path]):
    return few_shot_pool(prepared["cifar10"], max(settings["train_sizes"]), settings["n_test"],
                         settings["image_size"], settings["draws"], seed)


def kernels(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    pools, (x_test, _) = _data(settings, seed, prepared)
    timings = []
    with npz_writer(out_dir / "kernels.npz") as put:
        for draw, (x_train, _) in enumerate(pools):
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
def _cnn_programs(depth: int, readout: str, width: int, steps: int, learning_rate: float):
    """Jitted training and prediction of one CNN shape; rows are masked so every n shares them."""
    init_fn, apply_fn, _ = convolutional(depth, readout, width, N_CLASSES)

    @jax.jit
    def train(key, x, y, row_mask):
        params = as_float32(init_fn(key, x.shape)[1])

        def loss(p):
            squared = jnp.sum((apply_fn(p, x) - y) ** 2, axis=1)
            return 0.5 * jnp.sum(row_mask * squared) / jnp.sum(row_mask)

        return adam_full_batch(loss, params, learning_rate, steps)

    predict = jax.jit(lambda params, x: jnp.argmax(apply_fn(params, x), axis=1))
    return train, predict


def cnn_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, depth: int,
                 readout: str, cnn: dict[str, Any], seed: int, padded_rows: int) -> float:
    """The finite CNN of ``convolutional`` (NTK parameterisation), full-batch Adam on the squared loss
    to the same 0.9 / -0.1 targets; the training rows are zero-padded to ``padded_rows`` and masked
    (a few padded sizes: one compilation each, shared by all draws)."""
    train, predict = _cnn_programs(depth, readout, cnn["width"], cnn["steps"], cnn["learning_rate"])
    x = pad_rows(x_train.astype(np.float32), padded_rows)
    y = pad_rows(targets(y_train).astype(np.float32), padded_rows)
    row_mask = (np.arange(padded_rows) < len(y_train)).astype(np.float32)
    params = train(jax.random.PRNGKey(seed), x, y, row_mask)
    return float(np.mean(np.asarray(predict(params, np.asarray(x_test, np.float32))) == y_test))


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    pools, (x_test, y_test) = _data(settings, seed, prepared)
    rows = []
    with np.load(out_dir / "kernels.npz") as stored:
        for draw, (x_train, y_train) in enumerate(pools):
            for n in settings["train_sizes"]:
                for readout in READOUTS:
                    for depth in settings["depths"]:
                        key = f"draw{draw}/{readout}/L{depth}"
                        accuracy = kernel_regression_accuracy(stored[f"{key}/train"][:n, :n],
                                                              stored[f"{key}/test"][:, :n], y_train[:n], y_test)
                        rows.append({"draw": draw, "n_train": n, "readout": readout, "depth": depth,
                                     "model": "CNTK", "accuracy": 100 * accuracy})
                    depth = settings["few_shot_depth"]
                    accuracy = cnn_accuracy(x_train[:n], y_train[:n], x_test, y_test, depth, readout,
                                            settings["cnn"], seed + draw, padded_rows=-(-n // 16) * 16)
                    rows.append({"draw": draw, "n_train": n, "readout": readout, "depth": depth,
                                 "model": "CNN", "accuracy": 100 * accuracy})
                print(draw, n, rows[-1], flush=True)
    save_csv(out_dir / "accuracies.csv", pd.DataFrame(rows))
