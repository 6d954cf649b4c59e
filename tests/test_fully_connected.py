"""The fully-connected NTK (neural-tangents) against the arc-cosine recursion written out."""

from __future__ import annotations

import numpy as np
import pytest

from ntk_study.kernels.fully_connected import fully_connected_ntk
from ntk_study.kernels.precision import enable_float64

enable_float64()


def arc_cosine_ntk(x: np.ndarray, depth: int, fixed: int) -> np.ndarray:
    """Sigma^(1) = 2 x.x'/d; ReLU: E[relu relu] = sqrt(s s')/(2 pi) (sin t + (pi - t) cos t),
    E[relu' relu'] = (pi - t)/(2 pi); every Dense multiplies by W_std^2 = 2. Theta of a trained
    layer h adds Sigma^(h); fixed layers add nothing."""
    sigma = 2.0 * x @ x.T / x.shape[1]
    theta = np.zeros_like(sigma) if fixed >= 1 else sigma.copy()
    for layer in range(2, depth + 2):  # dense layers 2 .. depth + 1 (the readout)
        diag = np.sqrt(np.diag(sigma))
        cos = np.clip(sigma / np.outer(diag, diag), -1.0, 1.0)
        angle = np.arccos(cos)
        relu_relu = np.outer(diag, diag) / (2 * np.pi) * (np.sin(angle) + (np.pi - angle) * cos)
        relu_dot = (np.pi - angle) / (2 * np.pi)
        sigma_next = 2.0 * relu_relu
        theta = 2.0 * relu_dot * theta + (sigma_next if layer > fixed else 0.0)
        sigma = sigma_next
    return theta


@pytest.mark.parametrize(("depth", "fixed"), [(1, 0), (3, 0), (3, 1), (3, 2), (5, 4)])
def test_fc_ntk_equals_arc_cosine_recursion(depth, fixed):
    x = np.random.default_rng(depth + fixed).normal(size=(6, 4))
    np.testing.assert_allclose(fully_connected_ntk(x, None, depth, fixed), arc_cosine_ntk(x, depth, fixed),
                               rtol=1e-6, atol=1e-8)


def test_fixing_layers_removes_their_contribution():
    x = np.random.default_rng(0).normal(size=(5, 3))
    full, frozen = fully_connected_ntk(x, None, 3, 0), fully_connected_ntk(x, None, 3, 2)
    assert np.all(np.diag(frozen) < np.diag(full))


def test_ntk_table_matches_each_depth_and_fixed_pair():
    """The one-pass table (row blocks, zero-padded rows) equals the per-pair kernels."""
    from ntk_study.kernels.fully_connected import depth_fixed_pairs, fully_connected_ntk_table

    x = np.random.default_rng(3).normal(size=(9, 4))
    table = fully_connected_ntk_table(x, max_depth=3, row_block=4)
    assert table.shape == (6, 9, 9)
    for gram, (depth, fixed) in zip(table, depth_fixed_pairs(3)):
        np.testing.assert_allclose(gram, arc_cosine_ntk(x, depth, fixed), rtol=1e-6, atol=1e-8)
