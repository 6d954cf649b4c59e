"""Pieces of chapter 2: empirical NTK = Jacobian product, the NTK predictor's limits, training."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pytest

from ntk_study.analysis.lemma1_dynamics import mean_errors
from ntk_study.experiments import lemma1_dynamics
from ntk_study.experiments.kernel_regression import deep_model, ntk_predictor
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    analytic_first_layer_ntk,
    first_layer_function,
    init_params,
    sphere_points,
    two_layer_model,
)
from ntk_study.training import gradient_descent, squared_loss

enable_float64()


def explicit_ntk(apply_fn, params, x):
    """J J^T with J the Jacobian of the outputs w.r.t. every parameter, flattened."""
    jacobian = jax.jacobian(lambda p: apply_fn(p, x)[:, 0])(params)
    flat = jnp.concatenate([leaf.reshape(x.shape[0], -1) for leaf in jax.tree_util.tree_leaves(jacobian)], axis=1)
    return np.asarray(flat @ flat.T)


@pytest.mark.parametrize("implementation", [nt.NtkImplementation.JACOBIAN_CONTRACTION,
                                            nt.NtkImplementation.NTK_VECTOR_PRODUCTS])
def test_empirical_ntk_of_stax_model_equals_jacobian_product(implementation):
    init_fn, apply_fn, _ = deep_model(width=16, depth=3)
    x = sphere_points(jax.random.PRNGKey(0), 7, 2)
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    ntk_fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0, implementation=implementation)
    np.testing.assert_allclose(np.asarray(ntk_fn(x, None, params)), explicit_ntk(apply_fn, params, x), atol=1e-10)


@pytest.fixture(scope="module")
def kernel_problem():
    x = sphere_points(jax.random.PRNGKey(2), 15, 4)
    y = jax.random.normal(jax.random.PRNGKey(3), (10,))
    _, _, kernel_fn = two_layer_model(2, 4, "relu")
    return analytic_first_layer_ntk(kernel_fn, x[:10]), analytic_first_layer_ntk(kernel_fn, x[10:], x[:10]), y


def test_ntk_predictor_at_time_zero_is_the_zero_initial_output(kernel_problem):
    h_train, h_test_train, y = kernel_problem
    np.testing.assert_allclose(ntk_predictor(h_train, h_test_train, y, [0.0])[0], 0.0, atol=1e-12)


def test_ntk_predictor_at_infinity_is_kernel_regression(kernel_problem):
    h_train, h_test_train, y = kernel_problem
    regression = np.asarray(h_test_train) @ np.linalg.solve(np.asarray(h_train), np.asarray(y))
    at_infinity, very_late = ntk_predictor(h_train, h_test_train, y, [None, 1e6])
    np.testing.assert_allclose(at_infinity, regression, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(very_late, regression, rtol=1e-5, atol=1e-6)


def test_ntk_predictor_matches_the_eigen_closed_form(kernel_problem):
    """f(t) = k(x, X) H^-1 (I - exp(-t H)) y: checks neural-tangents' time normalisation."""
    h_train, h_test_train, y = kernel_problem
    values, vectors = np.linalg.eigh(np.asarray(h_train))
    t = 2.5
    decay = vectors @ np.diag((1 - np.exp(-t * values)) / values) @ vectors.T
    expected = np.asarray(h_test_train) @ decay @ np.asarray(y)
    np.testing.assert_allclose(ntk_predictor(h_train, h_test_train, y, [t])[0], expected, rtol=1e-8, atol=1e-10)


def test_gradient_descent_reduces_the_loss():
    init_fn, apply_fn, kernel_fn = two_layer_model(64, 4, "relu")
    x = sphere_points(jax.random.PRNGKey(4), 12, 4)
    y = jax.random.normal(jax.random.PRNGKey(5), (12,))
    params = init_params(init_fn, jax.random.PRNGKey(6), 4)
    apply_first, trainable = first_layer_function(apply_fn, params)
    eta = 0.5 / float(np.linalg.eigvalsh(np.asarray(analytic_first_layer_ntk(kernel_fn, x)))[-1])
    trained, losses = gradient_descent(apply_first, trainable, x, y, eta, steps=200, record_every=10)
    losses = np.asarray(losses)
    assert len(losses) == 21 and np.all(np.diff(losses) < 0)
    assert losses[-1] < 0.1 * losses[0]
    assert float(squared_loss(apply_first, trained, x, y)) == pytest.approx(losses[-1])


def test_zero_output_initialisation():
    init_fn, apply_fn, _ = two_layer_model(32, 4, "relu")
    params = init_params(init_fn, jax.random.PRNGKey(7), 4, zero_output=True)
    x = sphere_points(jax.random.PRNGKey(8), 5, 4)
    np.testing.assert_allclose(np.asarray(apply_fn(params, x)), 0.0, atol=1e-12)


def test_lemma1_prediction_error_shrinks_with_step_size():
    settings = {"n_points": 6, "input_dim": 4, "width": 128, "step_sizes": [0.01, 0.1, 1.0], "steps": 3, "seeds": 1}
    errors, pairs = lemma1_dynamics.run(settings, seed=0)
    means = mean_errors(errors)["relative_error"].to_numpy()
    assert np.all(np.diff(means) > 0) and means[0] < 1e-2
    assert len(pairs) == 6 * 3
