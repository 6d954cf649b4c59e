"""The Graph NTK from neural-tangents against a direct implementation of Du et al.'s recursion."""

from __future__ import annotations

import numpy as np
import pytest

from ntk_study.kernels.graph import aggregation_pattern, gntk_grams, graph_network, make_batch, node_bucket
from ntk_study.kernels.precision import enable_float64

enable_float64()


def published_gntk(h1, a1, h2, a2, blocks: int, layers: int, scale: str) -> float:
    """Du et al. (2019a), Sec. 5, written out for one pair of graphs (c_sigma = 2, jumping knowledge).

    Sigma^(0) = Theta^(0) = h h'^T; aggregation: c_u c_u' sum over N(u)+u, N(u')+u' of the entries;
    a layer: Sigma <- 2 E[relu relu], Theta <- Theta * 2 E[relu' relu'] + Sigma, where the
    expectations use the variances Sigma(G,G)_uu and Sigma(G',G')_u'u'; readout sum_l sum_uu' Theta^(l).
    """
    def scaled(adjacency):
        with_self = adjacency + np.eye(len(adjacency))
        c = 1 / with_self.sum(axis=1) if scale == "degree" else np.ones(len(adjacency))
        return c[:, None] * with_self

    b1, b2 = scaled(a1), scaled(a2)
    s12, s11, s22 = h1 @ h2.T, h1 @ h1.T, h2 @ h2.T
    theta = s12.copy()
    total = theta.sum()
    for _ in range(blocks):
        s12, s11, s22, theta = b1 @ s12 @ b2.T, b1 @ s11 @ b1.T, b2 @ s22 @ b2.T, b1 @ theta @ b2.T
        for _ in range(layers):
            v1, v2 = np.diag(s11), np.diag(s22)
            norms = np.sqrt(np.outer(v1, v2))
            cos = np.clip(s12 / norms, -1, 1)
            angle = np.arccos(cos)
            s12_next = 2 * norms * (np.sin(angle) + (np.pi - angle) * cos) / (2 * np.pi)
            theta = theta * 2 * (np.pi - angle) / (2 * np.pi) + s12_next
            s12, s11, s22 = s12_next, s11, s22  # diagonal variances keep their value under c_sigma = 2
            s11 = _relu_self(s11)
            s22 = _relu_self(s22)
        total += theta.sum()
    return float(total)


def _relu_self(sigma):
    diag = np.sqrt(np.diag(sigma))
    norms = np.outer(diag, diag)
    cos = np.clip(sigma / norms, -1, 1)
    angle = np.arccos(cos)
    return 2 * norms * (np.sin(angle) + (np.pi - angle) * cos) / (2 * np.pi)


def _graph(n, edges, tags, n_tags):
    adjacency = np.zeros((n, n))
    for u, v in edges:
        adjacency[u, v] = adjacency[v, u] = 1
    return np.eye(n_tags)[tags], adjacency, np.array(edges)


GRAPHS = [
    _graph(4, [(0, 1), (1, 2), (2, 3)], [0, 1, 1, 2], 3),  # a path
    _graph(5, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2)], [2, 0, 0, 1, 1], 3),  # a star with a chord
    _graph(3, [(0, 1), (1, 2), (2, 0)], [1, 1, 1], 3),  # a triangle
]


@pytest.mark.parametrize("scale", ["uniform", "degree"])
@pytest.mark.parametrize(("blocks", "layers"), [(1, 1), (2, 2), (3, 1)])
def test_gntk_equals_published_recursion(scale, blocks, layers):
    features = [h for h, _, _ in GRAPHS]
    patterns = [aggregation_pattern(len(h), e, scale) for h, _, e in GRAPHS]
    grams = gntk_grams(features, patterns, blocks, layers)
    tags = features[0].shape[1]  # stax's input layer divides <h, h'> by the feature dimension
    for i, (h1, a1, _) in enumerate(GRAPHS):
        for j, (h2, a2, _) in enumerate(GRAPHS):
            expected = published_gntk(h1, a1, h2, a2, blocks, layers, scale) / tags
            assert grams[blocks][i, j] == pytest.approx(expected, rel=1e-8)


def test_blockwise_gram_equals_the_stax_network():
    """The per-block walk (sorted, bucketed batches) equals the serial stax model's kernel_fn."""
    features = [h for h, _, _ in GRAPHS]
    patterns = [aggregation_pattern(len(h), e, "degree") for h, _, e in GRAPHS]
    nodes = node_bucket(max(len(h) for h in features))
    batch = make_batch(features, patterns, len(features), nodes)
    _, _, kernel_fn = graph_network(2, 2)
    direct = np.asarray(kernel_fn(batch.features, batch.features, "ntk", pattern=(batch.pattern, batch.pattern)))
    np.testing.assert_allclose(gntk_grams(features, patterns, 2, 2)[2], direct, rtol=1e-7)


def test_degree_scaling_averages_over_neighbours():
    pattern = aggregation_pattern(3, np.array([[0, 1]]), "degree")
    # node 0 and 1 each average over themselves and each other; node 2 keeps its own feature
    np.testing.assert_allclose(pattern.sum(axis=0), [1.0, 1.0, 1.0])
    assert pattern[0, 1] == pytest.approx(0.5) and pattern[2, 2] == 1.0
