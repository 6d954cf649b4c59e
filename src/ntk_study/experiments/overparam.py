"""fig-overparam (Neyshabur et al. 2018, Fig. 1): train and test error of two-layer ReLU nets of
growing width, each trained by SGD with momentum until its cross-entropy falls below a threshold
(or a maximum number of epochs), on a seeded subset of CIFAR-10."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from neural_tangents import stax

from ntk_study.data.images import image_subset
from ntk_study.io import save_csv
from ntk_study.training import fit_classifier


def two_layer_classifier(width: int, classes: int):
    return stax.serial(
        stax.Dense(width, W_std=np.sqrt(2.0), b_std=0.0, parameterization="standard"), stax.Relu(),
        stax.Dense(classes, W_std=1.0, b_std=0.0, parameterization="standard"),
    )


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    x, labels = image_subset(prepared["cifar10"], "train", settings["n_train"], seed)
    x_test, labels_test = image_subset(prepared["cifar10"], "test", settings["n_test"], seed + 1)
    rows = []
    # One replicate: an initialisation and batch order per width (the image subset is shared).
    first = settings.get("first_replicate", 0)
    for replicate in range(first, first + settings["seeds"]):
        for width in sorted(settings["widths"]):
            init_fn, apply_fn, _ = two_layer_classifier(width, 10)
            key = jax.random.fold_in(jax.random.PRNGKey(seed + width), replicate)
            _, params = init_fn(key, x.shape)
            trained, history = fit_classifier(
                apply_fn, params, x, labels, jax.random.fold_in(key, 1), learning_rate=settings["learning_rate"],
                momentum=settings["momentum"], batch_size=settings["batch_size"], max_epochs=settings["max_epochs"],
                stop_loss=settings["stop_loss"])
            test_predictions = jnp.argmax(apply_fn(trained, jnp.asarray(x_test)), axis=1)
            rows.append({
                "seed": replicate, "width": width, "epochs": history[-1]["epoch"], "train_loss": history[-1]["loss"],
                "train_error": 1 - history[-1]["accuracy"],
                "test_error": float(jnp.mean(test_predictions != jnp.asarray(labels_test))),
            })
    save_csv(out_dir / "errors.csv", pd.DataFrame(rows))
