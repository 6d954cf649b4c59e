"""Image subsets for the finite-network experiments: flattened, scaled, per-channel centred."""

from __future__ import annotations

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
