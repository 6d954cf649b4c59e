"""Two-class subsets as in Arora et al. (2019): the first two classes of MNIST or CIFAR-10,
labels +1 (class 0) / -1 (class 1), every input flattened and scaled to unit norm; optionally
standardised per channel first (the usual MNIST / CIFAR-10 input normalisation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntk_study.data.errors import DataError
from ntk_study.data.prepare import load_prepared

INPUT_DIMS = {"mnist": 28 * 28, "cifar10": 32 * 32 * 3}


@dataclass
class TwoClassData:
    x_train: np.ndarray  # (n, d) float64, unit rows
    y_train: np.ndarray  # (n,) +-1
    x_test: np.ndarray
    y_test: np.ndarray


def _channel_count(images: np.ndarray) -> int:
    """Images are (N, H, W, C), or (N, H, W) with one channel."""
    return images.shape[3] if images.ndim == 4 else 1


def channel_moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each channel over all pixels of the uint8 ``images``, in [0, 1] units."""
    moments = [((column / 255.0).mean(), (column / 255.0).std())
               for column in images.reshape(-1, _channel_count(images)).T]
    return np.array([mean for mean, _ in moments]), np.array([sd for _, sd in moments])


def _select(x: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator, split: str,
            moments: tuple[np.ndarray, np.ndarray] | None) -> tuple:
    candidates = np.flatnonzero(labels <= 1)
    if n > len(candidates):
        raise DataError(f"asked for {n} {split} images of classes 0 and 1, the data have {len(candidates)}")
    chosen = np.sort(rng.choice(candidates, size=n, replace=False))
    pixels = x[chosen].reshape(n, -1, _channel_count(x)).astype(np.float64)
    if moments is not None:
        pixels = (pixels / 255 - moments[0]) / moments[1]
    flat = pixels.reshape(n, -1)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True)
    return flat, np.where(labels[chosen] == 0, 1.0, -1.0)


def load_two_class(prepared_file: str | Path, n_train: int, n_test: int, seed: int,
                   standardise: bool = False) -> TwoClassData:
    """A random (seeded) subset of the first two classes of a prepared image dataset. With
    ``standardise``, every channel is shifted and scaled to mean 0 and sd 1 over the whole training
    split (all classes, as torchvision's ``Normalize`` constants are) before the unit-norm scaling."""
    data = load_prepared(prepared_file)
    moments = channel_moments(data["x_train"]) if standardise else None
    rng = np.random.default_rng(seed)
    x_train, y_train = _select(data["x_train"], data["y_train"], n_train, rng, "training", moments)
    x_test, y_test = _select(data["x_test"], data["y_test"], n_test, rng, "test", moments)
    return TwoClassData(x_train, y_train, x_test, y_test)


def corrupt_labels(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Replace the labels of round(fraction * n) randomly chosen points by uniform random +-1.

    fraction = 1 gives fully random labels; about half of the replaced labels change sign.
    Returns the noisy labels and the indices that were replaced.
    """
    rng = np.random.default_rng(seed)
    replaced = np.sort(rng.choice(len(y), size=int(round(fraction * len(y))), replace=False))
    noisy = y.copy()
    noisy[replaced] = rng.choice([-1.0, 1.0], size=len(replaced))
    return noisy, replaced


def random_labels(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=n)
