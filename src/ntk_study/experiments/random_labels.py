"""fig-random-labels (Zhang et al. 2017, Fig. 1a): a network fits CIFAR-10 under true labels,
random labels, shuffled pixels, random pixels and Gaussian inputs.

A small convolutional ReLU net (stax, standard parameterisation) trained by minibatch SGD with
momentum on the cross-entropy, on a seeded subset of CIFAR-10; the training loss per epoch is
recorded for each condition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from neural_tangents import stax

from ntk_study.data.images import image_subset
from ntk_study.io import save_csv
from ntk_study.training import fit_classifier

CONDITIONS = ("true labels", "shuffled pixels", "random pixels", "Gaussian", "random labels")


def corrupted_inputs(x: np.ndarray, labels: np.ndarray, condition: str, rng: np.random.Generator,
                     channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Zhang et al.'s conditions. Pixel permutations move whole pixels (all channels together)."""
    n = len(x)
    pixels = x.reshape(n, -1, channels)
    if condition == "true labels":
        return x, labels
    if condition == "random labels":
        return x, rng.integers(0, labels.max() + 1, size=n).astype(labels.dtype)
    if condition == "shuffled pixels":
        return pixels[:, rng.permutation(pixels.shape[1])].reshape(n, -1), labels
    if condition == "random pixels":
        return np.stack([image[rng.permutation(len(image))] for image in pixels]).reshape(n, -1), labels
    if condition == "Gaussian":
        # Same mean and (empirical) covariance as the data: mu + X_c^T z / sqrt(n - 1), z ~ N(0, I_n).
        centred = x - x.mean(axis=0)
        z = rng.standard_normal((n, n)).astype(x.dtype)
        return (x.mean(axis=0) + z @ centred / np.sqrt(n - 1)).astype(x.dtype), labels
    raise ValueError(f"unknown condition {condition!r}")


def small_cnn(channels: list[int], classes: int):
    """Strided 3x3 convolutions with ReLU, then a dense readout (standard parameterisation)."""
    layers = []
    for width in channels:
        layers += [stax.Conv(width, (3, 3), strides=(2, 2), padding="SAME", W_std=np.sqrt(2.0), b_std=0.0,
                             parameterization="standard"), stax.Relu()]
    return stax.serial(*layers, stax.Flatten(),
                       stax.Dense(classes, W_std=1.0, b_std=0.0, parameterization="standard"))


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    x, labels = image_subset(prepared["cifar10"], "train", settings["n_train"], seed)
    init_fn, apply_fn, _ = small_cnn(settings["channels"], int(labels.max()) + 1)
    rows = []
    # One replicate: a run of all five conditions, each with its own corruption draw,
    # initialisation and batch order (the image subset is shared).
    for replicate in range(settings["seeds"]):
        for index, condition in enumerate(CONDITIONS):
            run_seed = seed + index + len(CONDITIONS) * replicate
            inputs, targets = corrupted_inputs(x, labels, condition, np.random.default_rng(run_seed))
            inputs = inputs.reshape(-1, 32, 32, 3)
            key = jax.random.PRNGKey(run_seed)
            _, params = init_fn(key, inputs.shape)
            _, history = fit_classifier(
                apply_fn, params, inputs, targets, jax.random.fold_in(key, 1),
                learning_rate=settings["learning_rate"], momentum=settings["momentum"],
                batch_size=settings["batch_size"], max_epochs=settings["max_epochs"], lr_decay=settings["lr_decay"],
                stop_loss=settings["stop_loss"])
            rows += [{"seed": replicate, "condition": condition, **record} for record in history]
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))
