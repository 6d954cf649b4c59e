"""tab-noisy-labels / fig-noisy-labels-curve: label noise, the AUX/RDI objectives, early stopping
chosen on noisy labels only, the claims, and the config check."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from ntk_study.analysis.noisy_labels import aux_margins, per_run, summary
from ntk_study.analysis.noisy_labels_curve import claims as curve_claims
from ntk_study.config import ConfigError, load_config, validate_config
from ntk_study.experiments.noisy_labels import N_CLASSES, Trainer, batch_objective
from ntk_study.kernels.residual import resnet
from ntk_study.noisy_labels import symmetric_label_noise
from ntk_study.training import as_float32, cross_entropy


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.4, 0.6])
def test_noise_replaces_exactly_the_fraction_with_wrong_labels(fraction):
    labels = np.arange(5000) % N_CLASSES
    noisy, changed = symmetric_label_noise(labels, fraction, N_CLASSES, np.random.default_rng(1))
    assert len(changed) == round(fraction * len(labels)) == int((noisy != labels).sum())
    assert np.all(noisy[changed] != labels[changed])  # every replaced label is wrong
    untouched = np.setdiff1d(np.arange(len(labels)), changed)
    np.testing.assert_array_equal(noisy[untouched], labels[untouched])
    if fraction:  # the wrong class is uniform: each of the 9 offsets about equally often
        offsets = np.bincount((noisy[changed] - labels[changed]) % N_CLASSES, minlength=N_CLASSES)[1:]
        expected = len(changed) / (N_CLASSES - 1)
        assert offsets.min() > 0.75 * expected and offsets.max() < 1.25 * expected


@pytest.fixture(scope="module")
def tiny_network():
    init_fn, apply_fn, _ = resnet([1], [4], N_CLASSES)
    params = as_float32(init_fn(jax.random.PRNGKey(0), (-1, 4, 4, 3))[1])
    x = jax.random.normal(jax.random.PRNGKey(1), (12, 4, 4, 3), dtype=jnp.float32)
    labels = jax.random.randint(jax.random.PRNGKey(2), (12,), 0, N_CLASSES)
    return apply_fn, params, x, labels


def test_objectives_reduce_to_the_normal_losses(tiny_network):
    apply_fn, params, x, labels = tiny_network
    batch = jnp.arange(6)
    outputs = apply_fn(params, x[batch])
    zero_aux = (params, jnp.zeros((12, N_CLASSES)))
    squared = 0.5 * jnp.mean(jnp.sum((outputs - jax.nn.one_hot(labels[batch], N_CLASSES)) ** 2, axis=1))
    data = (x, labels, params, jnp.float32(3.0))
    # b = 0: AUX is the normal loss; w = w(0): the RDI penalty vanishes
    for method, expected in (("mse", squared), ("mse_aux", squared), ("mse_rdi", squared),
                             ("ce", cross_entropy(outputs, labels[batch])),
                             ("ce_aux", cross_entropy(outputs, labels[batch]))):
        value = batch_objective(apply_fn, method, 12)(zero_aux, batch, *data)
        np.testing.assert_allclose(value, expected, rtol=1e-6, err_msg=method)
    # b != 0 shifts the outputs by sqrt(lambda) b, and only for AUX
    shifted_aux = (params, jnp.ones((12, N_CLASSES)))
    shifted = 0.5 * jnp.mean(jnp.sum((outputs + np.sqrt(3.0) - jax.nn.one_hot(labels[batch], N_CLASSES)) ** 2, axis=1))
    np.testing.assert_allclose(batch_objective(apply_fn, "mse_aux", 12)(shifted_aux, batch, *data), shifted, rtol=1e-6)
    np.testing.assert_allclose(batch_objective(apply_fn, "mse", 12)(shifted_aux, batch, *data), squared, rtol=1e-6)


def test_aux_and_rdi_at_zero_lambda_train_exactly_like_normal_training(tiny_network):
    apply_fn, params, x, labels = tiny_network
    settings = {"batch_size": 4, "momentum": 0.9, "learning_rate": 0.1, "epochs": 3}
    splits = {"train": (np.asarray(x), np.asarray(labels)), "validation": (np.asarray(x[:4]), np.asarray(labels[:4])),
              "test": (np.asarray(x[4:]), np.asarray(labels[4:]))}
    trainer = Trainer(apply_fn, settings, 12)
    key = jax.random.PRNGKey(3)
    normal = trainer.run(params, "mse", 0.0, splits, key)
    assert normal["train_accuracy"].iloc[-1] != normal["train_accuracy"].iloc[0]  # it trains
    for method in ("mse_aux", "mse_rdi"):
        pd.testing.assert_frame_equal(trainer.run(params, method, 0.0, splits, key), normal)
    # a large lambda changes the run (the regulariser is live)
    assert not trainer.run(params, "mse_rdi", 1e4, splits, key).equals(normal)


def history(curves: dict[str, tuple[list[float], list[float]]], noise: float = 0.4) -> pd.DataFrame:
    """Hand-made histories: per method, (test accuracies, held-out noisy accuracies) by epoch."""
    rows = []
    for method, (test, validation) in curves.items():
        for epoch, (t, v) in enumerate(zip(test, validation)):
            rows.append({"noise": noise, "method": method, "replicate": 0, "epoch": epoch,
                         "test_accuracy": t, "validation_accuracy": v, "train_accuracy": 0.0})
    return pd.DataFrame(rows)


def test_early_stopping_uses_the_noisy_held_out_labels_not_the_test_set():
    frame = history({"ce": ([10, 50, 40, 30], [5, 20, 30, 30])})  # test peaks at 1, held-out at 2 (tie: 2)
    run = per_run(frame).iloc[0]
    assert run["stop_epoch"] == 2 and run["early_stop"] == 40 and run["best"] == 50 and run["final"] == 30


def test_claims_follow_the_numbers(tmp_path):
    settings = {"noise": 0.4, "final_tolerance": 3.0, "overfit_margin": 3.0}
    flat = [0.1, 0.3, 0.3, 0.3]
    overfit = [0.1, 0.5, 0.4, 0.3]
    histories = history({"ce": (overfit, flat), "mse": (overfit, flat),
                         "ce_aux": (flat, flat), "mse_aux": (flat, flat)})
    histories.to_csv(tmp_path / "histories.csv", index=False)
    verdicts = {r.claim.split()[0]: r.passed for r in curve_claims(tmp_path, settings, "test")}
    assert verdicts == {"With": "yes", "Normal": "yes"}
    # AUX that also falls by 20 points fails its claim; normal training that does not fall fails its own
    histories = history({"ce": (flat, flat), "mse": (overfit, flat),
                         "ce_aux": (overfit, flat), "mse_aux": (flat, flat)})
    histories.to_csv(tmp_path / "histories.csv", index=False)
    verdicts = {r.claim.split()[0]: r.passed for r in curve_claims(tmp_path, settings, "test")}
    assert verdicts == {"With": "no", "Normal": "no"}
    # AUX minus early stopping, per loss and noise level
    table = summary(history({"ce": ([10, 50, 20], [1, 9, 2]), "ce_aux": ([10, 40, 45], [1, 2, 3]),
                             "mse": ([10, 30, 20], [1, 9, 2]), "mse_aux": ([10, 20, 25], [1, 2, 3])}))
    margins = aux_margins(table, 0.2).set_index("loss")["margin"]
    assert margins.to_dict() == {"ce": -5.0, "mse": -5.0}


def test_curve_noise_must_be_a_trained_noise_level():
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "test.yaml")
    config["figures"]["fig-noisy-labels-curve"]["noise"] = 0.3
    with pytest.raises(ConfigError, match=r"fig-noisy-labels-curve.noise: 0.3 is not one of"):
        validate_config(config)
