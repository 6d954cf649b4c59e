"""tab-cntk (Arora et al. 2019, 2020): CNTK-V and CNTK-GAP kernel regression on few-shot CIFAR-10
by depth, beside the same-architecture finite CNN trained on the same images.

``kernels`` writes, per draw, readout and depth, the train x train and test x train CNTK
(``kernels.npz``, keys ``draw<k>/<readout>/L<depth>/train`` and ``.../test``). ``compute``
solves the kernel regression (labels 0.9 / -0.1, no ridge) for every training-set size (the
first n images of each draw) and trains the finite CNN of the few-shot depth on the same
images; one row per (draw, n, readout, depth, model) in ``accuracies.csv``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.example_libraries import optimizers

from ntk_study.data.images import few_shot_pool
from ntk_study.io import npz_writer, save_csv
from ntk_study.kernels.convolutional import READOUTS, cntk_by_depth, convolutional

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


def kernel_regression_accuracy(k_train: np.ndarray, k_test: np.ndarray, y_train: np.ndarray,
                               y_test: np.ndarray) -> float:
    """Accuracy of f(x) = K(x, X) K(X, X)^-1 Y (no ridge; least squares if K is singular)."""
    coefficients = np.linalg.lstsq(k_train.astype(np.float64), targets(y_train), rcond=None)[0]
    return float(np.mean(np.argmax(k_test @ coefficients, axis=1) == y_test))


def cnn_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, depth: int,
                 readout: str, cnn: dict[str, Any], seed: int) -> float:
    """The finite CNN of ``convolutional`` (NTK parameterisation), full-batch Adam on the squared loss."""
    init_fn, apply_fn, _ = convolutional(depth, readout, cnn["width"], N_CLASSES)
    _, params = init_fn(jax.random.PRNGKey(seed), x_train.shape)
    dtype = jax.tree_util.tree_leaves(params)[0].dtype  # float64 when x64 is on
    x_train, x_test = jnp.asarray(x_train, dtype), jnp.asarray(x_test, dtype)
    y = jnp.asarray(targets(y_train), dtype)
    opt_init, opt_update, get_params = optimizers.adam(cnn["learning_rate"])

    @jax.jit
    def train(state):
        def step(state, i):
            grads = jax.grad(lambda p: 0.5 * jnp.mean(jnp.sum((apply_fn(p, x_train) - y) ** 2, axis=1)))(
                get_params(state))
            return opt_update(i, grads, state), None

        return jax.lax.scan(step, state, jnp.arange(cnn["steps"]))[0]

    params = get_params(train(opt_init(params)))
    return float(np.mean(np.argmax(np.asarray(apply_fn(params, x_test)), axis=1) == y_test))


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
                                            settings["cnn"], seed + draw)
                    rows.append({"draw": draw, "n_train": n, "readout": readout, "depth": depth,
                                 "model": "CNN", "accuracy": 100 * accuracy})
                print(draw, n, rows[-1], flush=True)
    save_csv(out_dir / "accuracies.csv", pd.DataFrame(rows))
