"""fig-ntk-structure (Seleznova & Kutyniok 2022, Fig. 4): class blocks of the NTK during training.

ReLU networks (``kernels.fully_connected.phase_network``, standard parameterisation,
W ~ N(0, sigma_w^2 / fan-in), biases zero at initialisation and trained when ``biases`` is set, as in
the paper's code) with one output per class, one network per initialisation phase,
trained by full-batch Adam (``training.adam_full_batch``) on the mean over images of
1/2 ||f(x) - onehot(label)||^2, as in the paper's code. Inputs: MNIST images of the configured
classes, pixels scaled to [0, 1] and flattened (no centring, as in the paper); a seeded subset of
the training split, and a seeded subset of the test split for the accuracy. Every ``record_every``
steps the empirical NTK (``nt.empirical_ntk_fn`` on the same ``apply_fn``, traced over the outputs)
of a fixed probe set (``probes_per_class`` training images of each class, grouped by class) is
recorded with the training loss and the test accuracy. The three phases start from the same
Gaussian draws, scaled by sigma_w.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd

from ntk_study.data.prepare import load_prepared
from ntk_study.io import save_csv, save_npz
from ntk_study.kernels.fully_connected import phase_network
from ntk_study.training import adam_full_batch

PHASES = ("ordered", "edge", "chaotic")


def _pick(rng: np.random.Generator, candidates: np.ndarray, n: int | None) -> np.ndarray:
    if n is None or n >= len(candidates):
        return candidates
    return np.sort(rng.choice(candidates, size=n, replace=False))


def class_subset(prepared_file: str | Path, classes: list[int], n_train: int | None, n_test: int | None,
                 probes_per_class: int, seed: int) -> dict[str, np.ndarray]:
    """Images of ``classes`` as float32 rows in [0, 1] with labels 0..len(classes)-1 (position in
    ``classes``): a seeded subset of ``n_train`` training and ``n_test`` test images (None: all), and
    the probe set, ``probes_per_class`` of the chosen training images per class, grouped by class."""
    data = load_prepared(prepared_file)
    rng = np.random.default_rng(seed)
    position = np.full(256, -1)
    position[np.asarray(classes)] = np.arange(len(classes))
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = position[data[f"y_{split}"]]
        chosen = _pick(rng, np.flatnonzero(labels >= 0), n)
        out[f"x_{split}"] = (data[f"x_{split}"][chosen].reshape(len(chosen), -1) / 255.0).astype(np.float32)
        out[f"y_{split}"] = labels[chosen].astype(np.int32)
    probes = []
    for label in range(len(classes)):
        members = np.flatnonzero(out["y_train"] == label)
        if len(members) < probes_per_class:
            raise ValueError(f"class {classes[label]} has {len(members)} training images, fewer than "
                             f"probes_per_class = {probes_per_class}")
        probes.append(rng.permutation(members)[:probes_per_class])
    probes = np.concatenate(probes)
    out["x_probe"], out["y_probe"] = out["x_train"][probes], out["y_train"][probes]
    return out


def train_and_record(settings: dict[str, Any], sigma_w2: float, data: dict[str, np.ndarray],
                     key: jax.Array) -> dict[str, np.ndarray]:
    """Adam training of one phase's network; the probe NTK, training loss and test accuracy at step
    0 and every ``record_every`` steps (arrays with a leading axis over the recorded steps)."""
    n_classes = len(settings["classes"])
    init_fn, apply_fn, _ = phase_network(settings["depth"], settings["width"], sigma_w2, n_outputs=n_classes,
                                         biases=settings["biases"])
    ntk_fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0,
                                 implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION)

    # The data are arguments, not constants baked into the compiled program.
    @jax.jit
    def run(params, x, targets, x_probe, x_test, y_test):
        def loss(p):
            return 0.5 * jnp.mean(jnp.sum((apply_fn(p, x) - targets) ** 2, axis=1))

        def record(p):
            accuracy = jnp.mean(jnp.argmax(apply_fn(p, x_test), axis=1) == y_test)
            return {"ntk": ntk_fn(x_probe, None, p), "train_loss": loss(p), "test_accuracy": accuracy}

        return adam_full_batch(loss, params, settings["learning_rate"], settings["steps"], record=record,
                               record_every=settings["record_every"])[1]

    params = init_fn(key, (-1, data["x_train"].shape[1]))[1]
    targets = jax.nn.one_hot(data["y_train"], n_classes, dtype=jnp.float32)
    records = run(params, data["x_train"], targets, data["x_probe"], data["x_test"], data["y_test"])
    return {name: np.asarray(value) for name, value in records.items()}


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    data = class_subset(prepared[settings["dataset"]], settings["classes"], settings["n_train"], settings["n_test"],
                        settings["probes_per_class"], seed)
    key = jax.random.PRNGKey(seed)  # the same draws in every phase
    steps = np.arange(0, settings["steps"] + 1, settings["record_every"])
    rows, kernels = [], {"probe_labels": data["y_probe"], "steps": steps}
    for phase in PHASES:
        sigma_w2 = settings["sigma_w2"][phase]
        records = train_and_record(settings, sigma_w2, data, key)
        kernels[phase] = records["ntk"]
        rows += [{"phase": phase, "sigma_w2": sigma_w2, "step": int(step), "train_loss": float(loss),
                  "test_accuracy": float(accuracy)}
                 for step, loss, accuracy in zip(steps, records["train_loss"], records["test_accuracy"])]
    save_npz(out_dir / "probe_ntk.npz", kernels)
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))
