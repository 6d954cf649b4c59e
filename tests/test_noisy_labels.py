"""tab-noisy-labels / fig-noisy-labels-curve: label noise, the AUX/RDI objectives and their
stability limit, the two early-stopping rules (never the test set), the claims (hold, fail, stay
undecided, or not testable without their premise), and the config check."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from ntk_study.analysis.noisy_labels import claims as table_claims
from ntk_study.analysis.noisy_labels import per_run
from ntk_study.analysis.noisy_labels_curve import claims as curve_claims
from ntk_study.config import ConfigError, load_config, validate_config
from ntk_study.experiments.noisy_labels import N_CLASSES, Trainer, batch_objective
from ntk_study.kernels.residual import resnet
from ntk_study.noisy_labels import aux_squared_loss, aux_stability_limit, rdi_stability_limit, symmetric_label_noise
from ntk_study.training import as_float32, cross_entropy, momentum_epoch_fn


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


def history(curves: dict[str, dict[str, list[float]]], noise: float = 0.4, replicate: int = 0) -> pd.DataFrame:
    """Hand-made histories: per method, accuracy curves by epoch in percent ("test", and optionally
    "clean" and "noisy" validation; both default to the test curve), as histories.csv holds them
    (fractions)."""
    rows = []
    for method, curve in curves.items():
        test = curve["test"]
        clean, noisy = curve.get("clean", test), curve.get("noisy", test)
        for epoch, (t, c, v) in enumerate(zip(test, clean, noisy)):
            rows.append({"noise": noise, "method": method, "replicate": replicate, "epoch": epoch,
                         "test_accuracy": t / 100, "validation_accuracy": v / 100,
                         "clean_validation_accuracy": c / 100, "train_accuracy": 1.0, "aux_rms": 0.0})
    return pd.DataFrame(rows)


def read_histories_from(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ("test_accuracy", "validation_accuracy", "clean_validation_accuracy", "train_accuracy")
    return frame.assign(**{c: 100 * frame[c] for c in columns})


def test_stopping_rules_use_their_own_labels_and_never_the_test_set():
    test = [10, 50, 40, 30, 30, 30, 30, 30]  # test peaks at epoch 1
    clean = [5, 20, 35, 35, 20, 20, 20, 20]  # clean validation peaks at 2 (tie with 3: the earliest)
    noisy = [5, 20, 20, 20, 30, 20, 20, 20]  # noisy held-out labels peak at 4
    run = per_run(read_histories_from(history({"ce": {"test": test, "clean": clean, "noisy": noisy}}))).iloc[0]
    assert run["clean_stop_epoch"] == 2 and run["clean_stop"] == pytest.approx(40)
    assert run["noisy_stop_epoch"] == 4 and run["noisy_stop"] == pytest.approx(30)
    assert run["best"] == pytest.approx(50) and run["final"] == pytest.approx(30)  # mean of the last 5
    assert run["overfit"] == pytest.approx(10)


def overfitting_by(drop: float, peak: float = 60.0) -> list[float]:
    """A test curve that rises to ``peak`` (where a clean validation set stops it) and ends ``drop``
    points lower: clean stop - final = ``drop``."""
    return [10.0, peak, peak, peak] + [peak - drop] * 8


def write_runs(tmp_path: Path, drops: dict[str, list[float]], noise: float = 0.4) -> None:
    """histories.csv with, per method, one run per replicate whose clean stop - final is the drop."""
    frames = [history({method: {"test": overfitting_by(drop)}}, noise=noise, replicate=k)
              for method, per_seed in drops.items() for k, drop in enumerate(per_seed)]
    pd.concat(frames).to_csv(tmp_path / "histories.csv", index=False)


OVERFITTING = {"ce": [10, 11, 9, 10], "mse": [8, 9, 7, 8]}


def curve_verdicts(tmp_path: Path) -> dict[str, str]:
    return {row.claim.split()[0]: row.verdict for row in curve_claims(tmp_path, {"noise": 0.4}, "test")}


def test_curve_claims_hold_when_regularised_runs_stay_flat_and_normal_training_falls(tmp_path):
    write_runs(tmp_path, OVERFITTING | {"ce_aux": [0.5, 0.0, 1.0, 0.5], "mse_aux": [0.0, 0.5, 0.0, 0.5],
                                        "mse_rdi": [0.0, -0.5, 0.5, 0.0]})
    rows = curve_claims(tmp_path, {"noise": 0.4}, "test")
    assert [row.verdict for row in rows] == ["holds", "holds"]
    assert all(row.replicates == "4" for row in rows)
    # the least favourable group is shown: MSE's 8 is nearest 2 from above; CCE+AUX's 0.5 from below
    assert "shown: MSE normal" in rows[0].details and "shown: CCE+AUX" in rows[1].details


def test_curve_claims_fail_when_aux_overfits(tmp_path):
    write_runs(tmp_path, OVERFITTING | {"ce_aux": [20, 21, 19, 20], "mse_aux": [0.0, 0.5, 0.0, 0.5]})
    assert curve_verdicts(tmp_path) == {"Normal": "holds", "With": "fails"}


def test_regularised_claim_is_not_testable_when_normal_training_does_not_overfit(tmp_path):
    write_runs(tmp_path, {"ce": [0.0, 0.5, 0.0, 0.5], "mse": [8, 9, 7, 8], "ce_aux": [0.0, 0.5, 0.0, 0.5]})
    verdicts = curve_verdicts(tmp_path)
    assert verdicts == {"Normal": "fails", "With": "not testable at this scale"}


def test_curve_claims_are_undecided_on_noise_around_the_threshold(tmp_path):
    noise = [-1.0, 5.0, 0.0, 4.0]  # mean 2: on the threshold
    write_runs(tmp_path, {"ce": noise, "mse": noise})
    rows = curve_claims(tmp_path, {"noise": 0.4}, "test")
    assert rows[0].verdict == "undecided" and rows[0].to_decide
    assert rows[1].verdict == "not testable at this scale"  # the premise is undecided


def write_table_runs(tmp_path: Path, margins: dict[tuple[str, float], list[float]]) -> None:
    """histories.csv where each regularised method's final accuracy minus its normal loss's
    clean-stopped (and noisy-stopped) accuracy is the given margin, per (method, noise) and
    replicate. Normal training overfits by 10 points in every run."""
    frames = []
    for (method, noise), per_seed in margins.items():
        base = method.split("_")[0]
        for k, margin in enumerate(per_seed):
            normal = overfitting_by(10 + 0.1 * k)
            frames.append(history({base: {"test": normal},
                                   method: {"test": [10, 40] + [60 + margin] * 10}}, noise=noise, replicate=k))
    pd.concat(frames).drop_duplicates(["noise", "method", "replicate", "epoch"]).to_csv(
        tmp_path / "histories.csv", index=False)


def table_rows(tmp_path: Path) -> dict[str, object]:
    rows = table_claims(tmp_path, {}, "test")
    return {key: row for key, row in zip(("aux", "aux-noisy", "rdi"), rows)}


@pytest.mark.parametrize("case, verdict", [("true", "holds"), ("one cell false", "fails"), ("noise", "undecided")])
def test_regularised_beat_early_stopping_per_replicate_and_cell(tmp_path, case, verdict):
    margins = {(method, noise): [3.0, 2.5, 3.5, 3.0] for method in ("ce_aux", "mse_aux", "mse_rdi")
               for noise in (0.2, 0.4, 0.6)}
    margins[("ce_aux", 0.0)] = [-9.0, -9.5, -9.0, -8.5]  # below the claim's noise levels: does not count
    if case == "one cell false":
        margins[("mse_aux", 0.4)] = [-5.0, -4.5, -5.5, -5.0]
        margins[("mse_rdi", 0.4)] = [-5.0, -4.5, -5.5, -5.0]
    if case == "noise":
        margins = {cell: [2.0, -2.0, 1.0, -1.5] for cell in margins}
        # normal training still overfits at p = 0.4 (the premise), so the claims are testable
    write_table_runs(tmp_path, margins)
    rows = table_rows(tmp_path)
    for row in rows.values():
        assert row.verdict == verdict and row.replicates == "4", (row.claim, row.details)
        assert "p=0:" not in row.details and "p=0.2" in row.details
    if case == "one cell false":
        assert "shown: MSE+AUX p=0.4" in rows["aux"].details
        assert float(rows["aux"].estimate) == pytest.approx(-5.0)  # against the clean stop at the peak


def test_table_claims_are_not_testable_without_the_premise(tmp_path):
    frames = []
    for k in range(4):  # normal training ends at its peak: nothing to stop early
        frames.append(history({"ce": {"test": overfitting_by(0.1 * k)}, "mse": {"test": overfitting_by(0.1 * k)},
                               "ce_aux": {"test": overfitting_by(0.0, peak=70)}}, replicate=k))
    pd.concat(frames).to_csv(tmp_path / "histories.csv", index=False)
    for row in table_claims(tmp_path, {}, "test"):
        assert row.verdict == "not testable at this scale" and "premise" in row.details


def test_aux_stability_limit_is_heavy_balls_edge_for_one_step_per_epoch():
    assert aux_stability_limit(0.1, 0.9, 100, 1) == pytest.approx(2 * 1.9 * 100 / 0.1)
    assert aux_stability_limit(0.1, 0.0, 100, 1) == pytest.approx(2 * 100 / 0.1)  # plain SGD: lr c < 2
    # More steps per epoch: the velocity keeps moving b between its visits, so the edge comes down.
    assert aux_stability_limit(3.0, 0.9, 100, 8) < aux_stability_limit(3.0, 0.9, 100, 2) < 2 * 1.9 * 100 / 3.0


def test_rdi_stability_limit_is_heavy_balls_edge_on_the_penalty():
    # lr lambda / n < 2 (1 + momentum): the penalty's curvature per step is lambda / n
    assert rdi_stability_limit(3.0, 0.9, 800) == pytest.approx(2 * 1.9 * 800 / 3.0)
    assert rdi_stability_limit(3.0, 0.9, 800) > aux_stability_limit(3.0, 0.9, 100, 8)  # no per-example variables


@pytest.mark.parametrize("factor, diverges", [(0.8, False), (1.25, True)])
def test_aux_variables_diverge_above_the_stability_limit(factor, diverges):
    """The AUX variables alone (network output fixed at 0) under the study's SGD epochs with shuffled
    batches: below the derived limit they converge to y / sqrt(lambda); above it they blow up."""
    n, batch_size, lr, momentum = 80, 10, 3.0, 0.9
    limit = aux_stability_limit(lr, momentum, batch_size, n // batch_size)
    lam = factor * limit
    targets = jax.nn.one_hot(jnp.arange(n) % N_CLASSES, N_CLASSES)

    def objective(aux, batch, y):
        return aux_squared_loss(jnp.zeros((len(batch), N_CLASSES)), aux[batch], y[batch], lam) / len(batch)

    epoch = momentum_epoch_fn(objective, momentum, batch_size, n // batch_size)
    state = (jnp.zeros((n, N_CLASSES)), jnp.zeros((n, N_CLASSES)))
    key = jax.random.PRNGKey(0)
    for _ in range(300):
        key, order = jax.random.split(key)
        state = epoch(state, (targets,), jax.random.permutation(order, n), lr)
    error = float(jnp.max(jnp.abs(np.sqrt(lam) * state[0] - targets)))
    assert (not np.isfinite(error) or error > 1e3) if diverges else error < 1e-3


def test_curve_noise_must_be_a_trained_noise_level():
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "test.yaml")
    config["figures"]["fig-noisy-labels-curve"]["noise"] = 0.3
    with pytest.raises(ConfigError, match=r"fig-noisy-labels-curve.noise: 0.3 is not one of"):
        validate_config(config)
