"""Pieces of chapters 1 and 3: two-class data, H* on real images, projections, label noise,
the classifier training loop, Zhang et al.'s input corruptions."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from ntk_study.analysis.convergence import steps_to_half
from ntk_study.data.prepare import prepare_dataset
from ntk_study.data.two_class import corrupt_labels, load_two_class
from ntk_study.experiments.convergence import predicted_residual
from ntk_study.experiments.overparam import two_layer_classifier
from ntk_study.experiments.projections import label_sets, spectrum
from ntk_study.experiments.random_labels import corrupted_inputs
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import analytic_first_layer_ntk_numpy, relu_first_layer_ntk_closed_form
from ntk_study.training import fit_classifier

enable_float64()


@pytest.fixture(scope="module")
def mnist_two_class(mirror, tmp_path_factory):
    prepared = tmp_path_factory.mktemp("prepared") / "mnist.npz"
    prepare_dataset("mnist", mirror / "mnist", prepared)
    return load_two_class(prepared, n_train=60, n_test=20, seed=0)


def test_two_class_data_are_unit_norm_pm_one(mnist_two_class):
    data = mnist_two_class
    np.testing.assert_allclose(np.linalg.norm(data.x_train, axis=1), 1.0)
    assert set(np.unique(data.y_train)) == {-1.0, 1.0} and data.x_train.shape == (60, 784)


def test_h_star_on_real_images_equals_closed_form(mnist_two_class):
    x = mnist_two_class.x_train
    np.testing.assert_allclose(analytic_first_layer_ntk_numpy(x, batch_size=20), relu_first_layer_ntk_closed_form(x),
                               atol=1e-7)


def test_projections_sum_to_squared_norm(mnist_two_class):
    values, vectors = spectrum(mnist_two_class.x_train)
    assert np.all(np.diff(values) <= 0) and values[-1] > 0  # decreasing, H* positive definite here
    for name, y in label_sets(mnist_two_class.y_train, vectors, seed=0).items():
        projections = (vectors.T @ y) ** 2
        assert projections.sum() == pytest.approx(y @ y, rel=1e-10), name
    worst = label_sets(mnist_two_class.y_train, vectors, seed=0)["worst"]
    assert ((vectors.T @ worst) ** 2)[-1] == pytest.approx(60.0)  # all of ||y||^2 on the last eigenvector


def test_theorem4_prediction_at_step_zero_is_the_squared_norm(mnist_two_class):
    values, vectors = spectrum(mnist_two_class.x_train)
    y = mnist_two_class.y_train
    predicted = predicted_residual(values, vectors, y, eta=0.5 / values[0], steps=np.array([0, 10, 1000]))
    assert predicted[0] == pytest.approx(len(y)) and predicted[0] > predicted[1] > predicted[2]


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.6, 1.0])
def test_label_noise_replaces_the_stated_fraction(fraction):
    y = np.where(np.arange(10_000) % 3 == 0, -1.0, 1.0)
    noisy, replaced = corrupt_labels(y, fraction, seed=1)
    assert len(replaced) == round(fraction * len(y)) and len(np.unique(replaced)) == len(replaced)
    untouched = np.setdiff1d(np.arange(len(y)), replaced)
    np.testing.assert_array_equal(noisy[untouched], y[untouched])
    flipped = np.mean(noisy != y)
    # Replaced labels are uniform +-1, so about half of them change sign.
    assert abs(flipped - fraction / 2) < 4 * np.sqrt(max(fraction, 1e-9) * 0.25 / len(y)) + 1e-12


def test_steps_to_half():
    import pandas as pd

    curve = pd.DataFrame({"step": [0, 10, 20, 30], "measured": [8.0, 6.0, 4.0, 1.0]})
    assert steps_to_half(curve) == 20
    assert steps_to_half(curve.assign(measured=[8.0, 7.0, 6.0, 5.0])) == float("inf")


def test_classifier_training_reduces_the_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 20)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int32) + 2 * (x[:, 1] > 0).astype(np.int32)
    init_fn, apply_fn, _ = two_layer_classifier(64, 4)
    _, params = init_fn(jax.random.PRNGKey(0), x.shape)
    _, history = fit_classifier(apply_fn, params, x, labels, jax.random.PRNGKey(1), learning_rate=0.05,
                                momentum=0.9, batch_size=16, max_epochs=60, stop_loss=0.05)
    assert history[-1]["loss"] < 0.2 * history[0]["loss"] and history[-1]["accuracy"] > 0.95


def test_zhang_input_corruptions():
    rng = np.random.default_rng(0)
    x = rng.random((50, 4 * 4 * 3)).astype(np.float32)
    labels = rng.integers(0, 10, 50)
    shuffled, same = corrupted_inputs(x, labels, "shuffled pixels", np.random.default_rng(1))
    np.testing.assert_array_equal(same, labels)
    # One permutation of whole pixels for every image: the pixel multiset of each image is kept.
    pixels, moved = x.reshape(50, 16, 3), shuffled.reshape(50, 16, 3)
    order = [next(j for j in range(16) if np.array_equal(moved[0, i], pixels[0, j])) for i in range(16)]
    np.testing.assert_array_equal(moved, pixels[:, order])
    gaussian, _ = corrupted_inputs(x, labels, "Gaussian", np.random.default_rng(2))
    assert np.abs(gaussian.mean(axis=0) - x.mean(axis=0)).max() < 0.2
    _, random = corrupted_inputs(x, labels, "random labels", np.random.default_rng(3))
    assert not np.array_equal(random, labels) and random.max() <= 9
