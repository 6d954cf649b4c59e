"""Image subsets for the finite-network experiments: flattened, scaled, per-channel centred."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ntk_study.data.prepare import load_prepared


def image_subset(prepared_file: str | Path, split: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``n`` images: (n, H*W*C) float32 in [0, 1] minus the channel
    means of the training split, and their integer labels."""
    data = load_prepared(prepared_file)
    images, labels = data[f"x_{split}"], data[f"y_{split}"]
    if images.ndim == 3:  # grey-scale: one channel
        images = images[..., None]
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), size=n, replace=False))
    x = images[chosen].astype(np.float32) / 255.0
    channel_means = (data["x_train"].reshape(-1, images.shape[-1]).mean(axis=0) / 255.0).astype(np.float32)
    # (for MNIST the reshape above folds all pixels into one channel, which is what we want)
    return (x - channel_means).reshape(n, -1), labels[chosen].astype(np.int32)


def channel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images (N, H, W, C), scaled to [0, 1]."""
    scaled = images.reshape(-1, images.shape[-1]) / 255.0
    return scaled.mean(axis=0), scaled.std(axis=0)


def standardise_and_pool(images: np.ndarray, statistics: tuple[np.ndarray, np.ndarray],
                         image_size: int) -> np.ndarray:
    """uint8 images (n, s, s, C) -> float32 (n, image_size, image_size, C): scaled to [0, 1],
    channel-standardised with ``statistics`` (mean, std), average-pooled to ``image_size``."""
    mean, std = statistics
    x = (images.astype(np.float64) / 255.0 - mean) / std
    factor = x.shape[1] // image_size
    if factor * image_size != x.shape[1]:
        raise ValueError(f"image_size {image_size} must divide the image side {x.shape[1]}")
    n, side, _, channels = x.shape
    x = x.reshape(n, image_size, factor, image_size, factor, channels).mean(axis=(2, 4))
    return x.astype(np.float32)


def image_splits(prepared_file: str | Path, n_train: int, n_test: int, image_size: int,
                 seed: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Seeded random subsets of the training and test splits as images (n, s, s, C) float32
    (see ``standardise_and_pool``; statistics of the whole training split) with int64 labels.
    Grey-scale images (MNIST, stored (N, H, W)) get their one channel axis."""
    data = load_prepared(prepared_file)
    with_channels = {split: data[f"x_{split}"] if data[f"x_{split}"].ndim == 4 else data[f"x_{split}"][..., None]
                     for split in ("train", "test")}
    statistics = channel_statistics(with_channels["train"])
    rng = np.random.default_rng(seed)
    subsets = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = with_channels[split], data[f"y_{split}"]
        chosen = np.sort(rng.choice(len(labels), size=n, replace=False))
        subsets.append((standardise_and_pool(images[chosen], statistics, image_size),
                        labels[chosen].astype(np.int64)))
    return subsets[0], subsets[1]


def few_shot_pool(prepared_file: str | Path, n_max: int, n_test: int, image_size: int, draws: int,
                  seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-style few-shot sets: per draw, ``n_max`` class-balanced training images ordered so that
    every prefix is as balanced as possible (the n-image set of a draw is its first n), and one
    seeded test set. Images (n, s, s, C) float32: scaled to [0, 1], channel-standardised with the
    training split's statistics, average-pooled to ``image_size``."""
    data = load_prepared(prepared_file)
    x_train, y_train = data["x_train"], data["y_train"].astype(np.int64)
    prepare = functools.partial(standardise_and_pool, statistics=channel_statistics(x_train),
                                image_size=image_size)
    classes = np.unique(y_train)
    pools = []
    for draw in range(draws):
        rng = np.random.default_rng([seed, draw])
        per_class = [rng.permutation(np.flatnonzero(y_train == c))[: -(-n_max // len(classes))] for c in classes]
        order = np.array([idx for group in zip(*per_class) for idx in group])[:n_max]  # round robin
        pools.append((prepare(x_train[order]), y_train[order]))
    test = np.random.default_rng([seed, draws]).choice(len(data["y_test"]), size=n_test, replace=False)
    return pools, (prepare(data["x_test"][test]), data["y_test"][test].astype(np.int64))
