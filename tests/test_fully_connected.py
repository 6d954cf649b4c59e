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
    """The chained table (row blocks, zero-padded rows) equals the per-pair kernels, depth 0 and
    fixed = depth included."""
    from ntk_study.kernels.fully_connected import depth_fixed_pairs, fully_connected_ntk_table

    x = np.random.default_rng(3).normal(size=(9, 4))
    table = fully_connected_ntk_table(x, max_depth=3, row_block=4)
    assert table.shape == (10, 9, 9) and depth_fixed_pairs(3)[:4] == [(0, 0), (1, 0), (1, 1), (2, 0)]
    for gram, (depth, fixed) in zip(table, depth_fixed_pairs(3)):
        np.testing.assert_allclose(gram, arc_cosine_ntk(x, depth, fixed), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(gram, fully_connected_ntk(x, None, depth, fixed), rtol=1e-12, atol=1e-14)


def reference_recursion(x: np.ndarray, max_hidden: int) -> dict[tuple[int, int], np.ndarray]:
    """K[L][f] of Arora et al. (2020)'s UCI code, in float64: Sigma^0 = x x^T on the raw features;
    per ReLU layer Sigma' = sqrt(s s') (sin t + (pi - t) cos t) / (2 pi) and the NTK of every chain
    is multiplied by (pi - t) / (2 pi); layer h's Sigma^h enters the chains with f <= h fixed layers.
    cos t is set to exactly 1 on the diagonal (the reference's arccos(S / sqrt(S S)) rounds it to up
    to 1e-8 relative there: the angle of parallel rows is ill-conditioned)."""
    sigma = x @ x.T
    theta = np.zeros((max_hidden + 1, *sigma.shape))
    grid = {}
    for depth in range(max_hidden + 1):
        if depth:
            norms = np.sqrt(np.diag(sigma))
            cos = np.clip(sigma / np.outer(norms, norms), -1.0, 1.0)
            np.fill_diagonal(cos, 1.0)
            angle = np.arccos(cos)
            sigma = np.outer(norms, norms) * (np.sqrt(1.0 - cos**2) + (np.pi - angle) * cos) / (2 * np.pi)
            theta *= (np.pi - angle) / (2 * np.pi)
        theta[:depth + 1] += sigma
        grid.update({(depth, fixed): theta[fixed].copy() for fixed in range(depth + 1)})
    return grid


def _abalone_rows(mirror, count: int) -> np.ndarray:
    """The first ``count`` rows of UCI abalone (standardised by Fernández-Delgado et al.), read with
    the repository's parser from the mirror's archive (abalone is its first folder)."""
    import tarfile

    from ntk_study.data.uci import build_dataset

    files = {}
    with tarfile.open(mirror / "uci121" / "data.tar.gz", "r:gz") as archive:
        for member in archive:
            if not member.name.startswith("abalone/"):
                break
            files[member.name.split("/")[-1]] = archive.extractfile(member).read().decode("latin-1")
    return build_dataset("abalone", files).x[:count]


def _standardised(seed: int) -> np.ndarray:
    """150 rows x 40 standardised features: enough that a separately reduced sum of squares differs
    from x x^T's diagonal in the last bit for some rows (the diagonal's angle must still be 0)."""
    x = np.random.default_rng(seed).normal(size=(150, 40)) * np.linspace(0.5, 4, 40) + 3
    return (x - x.mean(axis=0)) / x.std(axis=0)


@pytest.mark.parametrize("source", ["random", "abalone"])
def test_uci_kernels_are_the_reference_codes_kernels(source, request):
    """Our 15 kernels (0-4 hidden layers, 0..L fixed) times reference_scale equal the reference
    recursion to 1e-10 relative, depth 0 (the linear kernel) and fixed = depth (NNGP) included."""
    from ntk_study.experiments.uci import reference_ntk_chain
    from ntk_study.kernels.fully_connected import depth_fixed_pairs

    x = _standardised(0) if source == "random" else _abalone_rows(request.getfixturevalue("mirror"), 40)
    reference = reference_recursion(x, 4)
    chains = [reference_ntk_chain(x, 4, fixed) for fixed in range(5)]
    assert len(depth_fixed_pairs(4)) == len(reference) == 15
    for depth, fixed in depth_fixed_pairs(4):
        ours, theirs = chains[fixed][depth - fixed], reference[depth, fixed]
        assert ours.dtype == np.float64
        assert np.max(np.abs(ours - theirs)) <= 1e-10 * np.max(np.abs(theirs)), (depth, fixed)
    linear = x @ x.T  # 0 hidden layers: X X^T
    np.testing.assert_allclose(chains[0][0], linear, rtol=0, atol=1e-12 * np.max(np.abs(linear)))
