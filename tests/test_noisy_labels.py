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
from ntk_study.analysis.noisy_labels import claims as table_claims
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


def history(curves: dict[str, tuple[list[float], list[float]]], noise: float = 0.4, replicate: int = 0) -> pd.DataFrame:
    """Hand-made histories: per method, (test accuracies, held-out noisy accuracies) by epoch, in
    percent (histories.csv holds fractions)."""
    rows = []
    for method, (test, validation) in curves.items():
        for epoch, (t, v) in enumerate(zip(test, validation)):
            rows.append({"noise": noise, "method": method, "replicate": replicate, "epoch": epoch,
                         "test_accuracy": t / 100, "validation_accuracy": v / 100, "train_accuracy": 0.0})
    return pd.DataFrame(rows)


def test_early_stopping_uses_the_noisy_held_out_labels_not_the_test_set():
    frame = history({"ce": ([10, 50, 40, 30], [5, 20, 30, 30])})  # test peaks at 1, held-out at 2 (tie: 2)
    run = per_run(read_histories_from(frame)).iloc[0]
    assert run["stop_epoch"] == 2 and run["early_stop"] == pytest.approx(40)
    assert run["best"] == pytest.approx(50) and run["final"] == pytest.approx(30)


def read_histories_from(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: 100 * frame[c] for c in ("test_accuracy", "validation_accuracy", "train_accuracy")})


def falling_by(drop: float) -> list[float]:
    """A test curve whose best minus final is ``drop`` points."""
    return [10.0, 50.0, 50.0 - drop]


def write_curves(tmp_path: Path, drops: dict[str, list[float]]) -> None:
    """histories.csv at p = 0.4 with, per method, one run per replicate falling by the given drop."""
    flat = [10.0, 30.0, 30.0]
    frames = [history({method: (falling_by(drop), flat)}, replicate=k)
              for method, per_seed in drops.items() for k, drop in enumerate(per_seed)]
    pd.concat(frames).to_csv(tmp_path / "histories.csv", index=False)


def curve_verdicts(tmp_path: Path) -> dict[str, str]:
    return {row.claim.split()[0]: row.verdict for row in curve_claims(tmp_path, {"noise": 0.4}, "test")}


def test_curve_claims_hold_when_aux_stays_near_its_best_and_normal_training_falls(tmp_path):
    write_curves(tmp_path, {"ce": [20, 21, 19, 20], "mse": [15, 16, 14, 15],
                            "ce_aux": [0.5, 0.0, 1.0, 0.5], "mse_aux": [0.0, 0.5, 0.0, 0.5]})
    rows = curve_claims(tmp_path, {"noise": 0.4}, "test")
    assert [row.verdict for row in rows] == ["holds", "holds"]
    assert all(row.replicates == "4" for row in rows)
    # the least favourable method is shown: MSE+AUX's 0.25 is further from 3 than CCE+AUX's 0.5
    assert "shown: CCE+AUX" in rows[0].details and "shown: MSE" in rows[1].details


def test_curve_claims_fail_when_aux_falls_and_normal_training_does_not(tmp_path):
    # CCE+AUX falls by 20 points in every seed; CCE normal training ends at its best
    write_curves(tmp_path, {"ce": [0.0, 0.5, 0.0, 0.5], "mse": [15, 16, 14, 15],
                            "ce_aux": [20, 21, 19, 20], "mse_aux": [0.0, 0.5, 0.0, 0.5]})
    assert curve_verdicts(tmp_path) == {"With": "fails", "Normal": "fails"}


def test_curve_claims_are_undecided_on_noise_around_the_threshold(tmp_path):
    noise = [0.0, 6.0, 1.0, 5.0]  # mean 3: the tolerance and the margin
    write_curves(tmp_path, {"ce": noise, "mse": noise, "ce_aux": noise, "mse_aux": noise})
    rows = curve_claims(tmp_path, {"noise": 0.4}, "test")
    assert [row.verdict for row in rows] == ["undecided", "undecided"]
    assert all(row.to_decide for row in rows)


def write_table_runs(tmp_path: Path, margins: dict[tuple[str, float], list[float]]) -> None:
    """histories.csv where AUX's final epoch minus normal training's early-stopped accuracy is the
    given margin, per (loss, noise) and replicate."""
    frames = []
    for (loss, noise), per_seed in margins.items():
        for k, margin in enumerate(per_seed):
            frames.append(history({loss: ([10, 50, 40], [1, 9, 2]),  # early stop at epoch 1: 50
                                   f"{loss}_aux": ([10, 40, 50 + margin], [1, 2, 3])}, noise=noise, replicate=k))
    pd.concat(frames).to_csv(tmp_path / "histories.csv", index=False)


def table_row(tmp_path: Path):
    (row,) = table_claims(tmp_path, {}, "test")
    return row


@pytest.mark.parametrize("case, verdict", [("true", "holds"), ("one cell false", "fails"), ("noise", "undecided")])
def test_aux_beats_early_stop_per_seed_and_cell(tmp_path, case, verdict):
    margins = {(loss, noise): [3.0, 2.5, 3.5, 3.0] for loss in ("ce", "mse") for noise in (0.2, 0.4, 0.6)}
    margins[("ce", 0.0)] = [-9.0, -9.5, -9.0, -8.5]  # below the claim's noise levels: does not count
    if case == "one cell false":
        margins[("mse", 0.4)] = [-5.0, -4.5, -5.5, -5.0]
    if case == "noise":
        margins = {cell: [2.0, -2.0, 1.0, -1.5] for cell in margins}
    write_table_runs(tmp_path, margins)
    row = table_row(tmp_path)
    assert row.verdict == verdict and row.replicates == "4"
    assert "p=0:" not in row.details and "p=0.2" in row.details
    if case == "one cell false":
        assert "shown: MSE+AUX p=0.4" in row.details and float(row.estimate) == pytest.approx(-5.0)


def test_aux_margins_per_loss_and_noise_level():
    table = summary(read_histories_from(history({"ce": ([10, 50, 20], [1, 9, 2]), "ce_aux": ([10, 40, 45], [1, 2, 3]),
                                                 "mse": ([10, 30, 20], [1, 9, 2]),
                                                 "mse_aux": ([10, 20, 25], [1, 2, 3])})))
    margins = aux_margins(table, 0.2).set_index("loss")["margin"]
    assert margins.to_dict() == pytest.approx({"ce": -5.0, "mse": -5.0})


def test_curve_noise_must_be_a_trained_noise_level():
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "test.yaml")
    config["figures"]["fig-noisy-labels-curve"]["noise"] = 0.3
    with pytest.raises(ConfigError, match=r"fig-noisy-labels-curve.noise: 0.3 is not one of"):
        validate_config(config)
