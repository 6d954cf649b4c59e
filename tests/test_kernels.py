"""The two-layer net's kernels: closed form, explicit gradients, and the width limit."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from ntk_study.analysis.ntk_init import hoeffding_bound
from ntk_study.kernels.precision import enable_float64
from ntk_study.kernels.two_layer import (
    analytic_first_layer_ntk,
    empirical_first_layer_ntk,
    init_params,
    relu_first_layer_ntk_closed_form,
    sphere_points,
    two_layer_model,
)

enable_float64()
N, DIM = 12, 6


@pytest.fixture(scope="module")
def points():
    return sphere_points(jax.random.PRNGKey(3), N, DIM)


def test_analytic_kernel_equals_relu_closed_form(points):
    _, _, kernel_fn = two_layer_model(128, DIM, "relu")
    h_star = np.asarray(analytic_first_layer_ntk(kernel_fn, points))
    closed_form = relu_first_layer_ntk_closed_form(np.asarray(points))
    np.testing.assert_allclose(h_star, closed_form, atol=1e-7)
    np.testing.assert_allclose(np.diag(h_star), 0.5, atol=1e-7)  # x.x = 1: (pi - 0) / (2 pi)


def test_empirical_kernel_equals_explicit_gradient_formula(points):
    """H(0)_ij = x_i.x_j (1/m) sum_r a_r^2 1[w_r.x_i > 0] 1[w_r.x_j > 0] with a_r = +-1."""
    width = 64
    init_fn, apply_fn, _ = two_layer_model(width, DIM, "relu")
    params = init_params(init_fn, jax.random.PRNGKey(0), DIM)
    weights = np.asarray(params[0][0])  # (DIM, width), pre-activations are x @ weights
    signs = np.asarray(params[2][0])[:, 0]
    assert set(np.unique(signs)) == {-1.0, 1.0}
    x = np.asarray(points)
    active = (x @ weights > 0).astype(float)
    explicit = (x @ x.T) * ((active * signs**2) @ active.T) / width
    empirical = np.asarray(empirical_first_layer_ntk(apply_fn, params, points))
    np.testing.assert_allclose(empirical, explicit, atol=1e-10)


def test_network_output_matches_lecture_formula(points):
    width = 32
    init_fn, apply_fn, _ = two_layer_model(width, DIM, "relu")
    params = init_params(init_fn, jax.random.PRNGKey(1), DIM)
    weights, signs = np.asarray(params[0][0]), np.asarray(params[2][0])[:, 0]
    expected = np.maximum(np.asarray(points) @ weights, 0) @ signs / np.sqrt(width)
    np.testing.assert_allclose(np.asarray(apply_fn(params, points))[:, 0], expected, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_empirical_kernel_approaches_analytic_as_width_grows(points, activation):
    def mean_distance(width: int) -> float:
        init_fn, apply_fn, kernel_fn = two_layer_model(width, DIM, activation)
        h_star = np.asarray(analytic_first_layer_ntk(kernel_fn, points))
        distances = []
        for seed in range(5):
            params = init_params(init_fn, jax.random.PRNGKey(seed), DIM)
            h_0 = np.asarray(empirical_first_layer_ntk(apply_fn, params, points))
            distances.append(np.linalg.norm(h_0 - h_star, 2))
        return float(np.mean(distances))

    narrow, wide = mean_distance(64), mean_distance(16384)
    # 256x the width: the m^(-1/2) rate predicts a 16x smaller distance; demand at least 8x.
    assert wide < narrow / 8
    assert wide < hoeffding_bound(N, 16384, 0.05, activation)
