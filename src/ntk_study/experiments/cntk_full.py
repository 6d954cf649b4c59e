"""tab-cntk, full-CIFAR setting (the ``full`` section of the paper config): CNTK-V and CNTK-GAP
kernel regression and the same-architecture finite CNNs on all training images, by depth.

At 50,000 training images a Gram matrix is 50,000^2 per readout and depth, far more than one job
computes or holds in memory, so the work is split:

- ``kernel_shard`` computes a block of rows of every (readout, depth) kernel against the training
  images and writes it to its own ``.npy`` file (one job per shard, a GPU each on a cluster).
  Rows index the training images followed by the test images; a training shard stores only the
  columns from its own first row on (the rest of the symmetric matrix follows by transposition),
  and shards are sized to equal work.
- ``solve`` assembles one (readout, depth) training matrix at a time in float64, solves the kernel
  regression (labels 0.9 / -0.1, no ridge) and predicts the test images from the test shards.
- ``train_cnns`` trains the finite CNNs of one depth (both readouts) with minibatch SGD.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
import scipy.linalg

from ntk_study.data.images import few_shot_pool
from ntk_study.experiments.cntk import N_CLASSES, as_default_float, squared_to_targets, targets
from ntk_study.io import save_csv, save_npy
from ntk_study.kernels.convolutional import READOUTS, cntk_by_depth, cntk_keys, convolutional, trained
from ntk_study.kernels.row_shards import shard_rows
from ntk_study.training import fit_classifier, predict_labels


def full_images(settings: dict[str, Any], seed: int, prepared: dict[str, Path]):
    """One draw of ``full.n_train`` class-balanced training images and ``full.n_test`` test images
    (all of them at the published setting), prepared like the few-shot images."""
    full = settings["full"]
    pools, test = few_shot_pool(prepared["cifar10"], full["n_train"], full["n_test"], settings["image_size"],
                                draws=1, seed=seed)
    return pools[0], test


def kernel_keys(settings: dict[str, Any]) -> list[tuple[str, int]]:
    """(readout, depth) of each kernel, in the order of a shard file's first axis."""
    return cntk_keys(settings["depths"])


# Rows computed per call for a training shard: each chunk starts its columns at its own first row,
# so only a thin sliver below the diagonal is computed and then discarded.
TRIANGLE_CHUNK = 64


def kernel_shard(settings: dict[str, Any], seed: int, shard: int, output: Path, prepared: dict[str, Path]) -> None:
    """Write shard ``shard`` of every kernel: float32 array (kernels, rows, n_train - first_column).

    For training rows only the entries on or above the diagonal are meaningful (the rest is zero).
    """
    (x_train, _), (x_test, _) = full_images(settings, seed, prepared)
    blocks = shard_rows(len(x_train), len(x_test), settings["full"]["shards"])
    if not 0 <= shard < len(blocks):
        raise ValueError(f"shard {shard} does not exist: the config gives {len(blocks)} shards (0..{len(blocks) - 1})")
    block = blocks[shard]
    images = np.concatenate([x_train, x_test])[block.start:block.stop]
    keys = kernel_keys(settings)
    began = time.perf_counter()
    stacked = np.zeros((len(keys), len(images), len(x_train) - block.first_column), dtype=np.float32)
    chunk = TRIANGLE_CHUNK if block.is_training(len(x_train)) else len(images)
    for offset in range(0, len(images), chunk):
        # Training rows: columns from the chunk's first row on (upper triangle); test rows: all.
        first = offset if block.is_training(len(x_train)) else 0
        grams = cntk_by_depth(images[offset:offset + chunk], x_train[block.first_column + first:], settings["depths"])
        for index, key in enumerate(keys):
            stacked[index, offset:offset + chunk, first:] = grams[key]
    save_npy(output, stacked)
    print({"shard": shard, "rows": [block.start, block.stop], "first_column": block.first_column,
           "seconds": round(time.perf_counter() - began, 2)}, flush=True)


def mirror_upper_triangle(matrix: np.ndarray, chunk: int = 4096) -> None:
    """Copy the upper triangle of a square matrix onto its lower triangle, in place, a block at a time."""
    n = len(matrix)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        matrix[start:stop, :start] = matrix[:start, start:stop].T
        diagonal = matrix[start:stop, start:stop]
        upper = np.triu(diagonal)
        diagonal[...] = upper + np.triu(upper, 1).T


def assemble_training_gram(settings: dict[str, Any], n_train: int, shard_files: list[Path],
                           key_index: int) -> np.ndarray:
    """The full (n_train, n_train) float64 training matrix of one kernel from the training shards."""
    gram = np.empty((n_train, n_train))
    for block, path in zip(shard_rows(n_train, settings["full"]["n_test"], settings["full"]["shards"]), shard_files):
        if not block.is_training(n_train):
            break
        gram[block.start:block.stop, block.first_column:] = np.load(path, mmap_mode="r")[key_index]
    mirror_upper_triangle(gram)
    return gram


def solve(settings: dict[str, Any], seed: int, shard_files: list[Path], output: Path,
          prepared: dict[str, Path]) -> None:
    """Kernel regression of every (readout, depth) kernel; one row each in ``output`` (CSV)."""
    (_, y_train), (_, y_test) = full_images(settings, seed, prepared)
    n_train = len(y_train)
    blocks = shard_rows(n_train, len(y_test), settings["full"]["shards"])
    if len(shard_files) != len(blocks):
        raise ValueError(f"{len(shard_files)} shard files given, the config gives {len(blocks)} shards")
    rows = []
    for index, (readout, depth) in enumerate(kernel_keys(settings)):
        began = time.perf_counter()
        gram = assemble_training_gram(settings, n_train, shard_files, index)
        # Symmetric indefinite (LDL^T) solve: the float32-stored kernel may have tiny negative
        # eigenvalues, where a Cholesky factorisation would fail. gram.T is the same symmetric
        # matrix in Fortran order, which LAPACK factorises in place; a C-ordered array would be
        # copied first (another 20 GB at 50,000 images).
        coefficients = scipy.linalg.solve(gram.T, targets(y_train), assume_a="sym", overwrite_a=True,
                                          check_finite=False)
        del gram
        outputs = np.concatenate([np.load(path, mmap_mode="r")[index] @ coefficients
                                  for block, path in zip(blocks, shard_files) if not block.is_training(n_train)])
        rows.append({"model": "CNTK", "readout": readout, "depth": depth, "n_train": n_train,
                     "n_test": len(y_test), "accuracy": 100 * float(np.mean(np.argmax(outputs, axis=1) == y_test)),
                     "seconds": round(time.perf_counter() - began, 2)})
        print(rows[-1], flush=True)
    save_csv(output, pd.DataFrame(rows))


def train_cnns(settings: dict[str, Any], seed: int, depth: int, output: Path, prepared: dict[str, Path]) -> None:
    """Train the finite CNN of ``depth`` with each readout on the full training set (minibatch SGD
    with momentum on the squared loss to the kernel's targets; the layers its kernel trains, see
    kernels.convolutional.trained); one row per readout in ``output``."""
    (x_train, y_train), (x_test, y_test) = full_images(settings, seed, prepared)
    cnn = settings["full"]["cnn"]
    rows = []
    for index, readout in enumerate(READOUTS):
        began = time.perf_counter()
        init_fn, network_fn, _ = convolutional(depth, readout, cnn["width"], N_CLASSES)

        def apply_fn(params, x, network_fn=network_fn, readout=readout):
            return network_fn(trained(params, readout), x)

        key = jax.random.PRNGKey(seed + 1000 * depth + index)
        params = as_default_float(init_fn(key, x_train.shape)[1])
        params, history = fit_classifier(
            apply_fn, params, as_default_float(x_train), y_train, jax.random.fold_in(key, 1),
            learning_rate=cnn["learning_rate"], momentum=cnn["momentum"],
            batch_size=min(cnn["batch_size"], len(y_train)), max_epochs=cnn["epochs"], loss=squared_to_targets)
        accuracy = float(np.mean(predict_labels(apply_fn, params, as_default_float(x_test)) == y_test))
        rows.append({"model": "CNN", "readout": readout, "depth": depth, "n_train": len(y_train),
                     "n_test": len(y_test), "accuracy": 100 * accuracy, "initial_train_loss": history[0]["loss"],
                     "train_loss": history[-1]["loss"],
                     "train_accuracy": 100 * history[-1]["accuracy"], "epochs": history[-1]["epoch"],
                     "seconds": round(time.perf_counter() - began, 2)})
        print(rows[-1], flush=True)
    save_csv(output, pd.DataFrame(rows))
