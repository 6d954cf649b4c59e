"""The Graph NTK from neural-tangents against a direct implementation of Du et al.'s recursion."""

from __future__ import annotations

import numpy as np
import pytest

from ntk_study.kernels.graph import aggregation_pattern, graph_network, make_batch
from ntk_study.kernels.graph_blocks import arccos, gntk_grams, make_blocks, pack_graphs
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
    grams = gntk_grams(features, [e for _, _, e in GRAPHS], scale, [blocks], layers)
    tags = features[0].shape[1]  # stax's input layer divides <h, h'> by the feature dimension
    for i, (h1, a1, _) in enumerate(GRAPHS):
        for j, (h2, a2, _) in enumerate(GRAPHS):
            expected = published_gntk(h1, a1, h2, a2, blocks, layers, scale) / tags
            assert grams[blocks][i, j] == pytest.approx(expected, rel=1e-8)


def _random_graphs(count: int, seed: int, tags: int = 4) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Small random graphs (3-12 nodes, some isolated nodes) with one-hot tags."""
    rng = np.random.default_rng(seed)
    features, edges = [], []
    for _ in range(count):
        n = int(rng.integers(3, 13))
        pairs = np.array([(u, v) for u in range(n) for v in range(u + 1, n) if rng.random() < 0.3],
                         dtype=np.int64).reshape(-1, 2)
        features.append(np.eye(tags)[rng.integers(0, tags, n)])
        edges.append(pairs)
    return features, edges


@pytest.mark.parametrize("scale", ["uniform", "degree"])
@pytest.mark.parametrize("nodes_per_block", [16, 48])
def test_sparse_blocks_equal_the_stax_network(scale, nodes_per_block):
    """Sparse block-diagonal aggregation (several graphs per block, several blocks, every depth of
    one sweep) gives the kernel_fn of the stax model, evaluated on zero-padded dense batches."""
    features, edges = _random_graphs(9, seed=3)
    patterns = [aggregation_pattern(len(f), e, scale) for f, e in zip(features, edges)]
    batch = make_batch(features, patterns, len(features), max(len(f) for f in features))
    grams = gntk_grams(features, edges, scale, [1, 3], layers_per_block=2, nodes_per_block=nodes_per_block, threads=2)
    for blocks in (1, 3):
        _, _, kernel_fn = graph_network(blocks, 2)
        direct = np.asarray(kernel_fn(batch.features, batch.features, "ntk", pattern=(batch.pattern, batch.pattern)))
        # arccos near 1 (a node with itself) turns float64 rounding into ~1e-8 differences, as in
        # the reference code; beyond that the two evaluations agree.
        np.testing.assert_allclose(grams[blocks], direct, rtol=1e-7)


def test_dense_graphs_take_the_matmul_path_with_equal_values():
    """A set whose nodes have more neighbours than the gather slots aggregates by matmul."""
    from ntk_study.kernels import graph_blocks

    features, edges = _random_graphs(5, seed=4)
    sparse = gntk_grams(features, edges, "degree", [2], 1, nodes_per_block=24)
    limit = graph_blocks.MAX_GATHER_SLOTS
    graph_blocks.MAX_GATHER_SLOTS = 1
    try:
        dense = gntk_grams(features, edges, "degree", [2], 1, nodes_per_block=24)
    finally:
        graph_blocks.MAX_GATHER_SLOTS = limit
    np.testing.assert_allclose(dense[2], sparse[2], rtol=1e-9)


def test_packing_fills_blocks_without_splitting_graphs():
    sizes = [7, 3, 9, 2, 5, 5, 1]
    blocks = pack_graphs(sizes, 10)
    assert sorted(g for block in blocks for g in block) == list(range(len(sizes)))
    assert all(sum(sizes[g] for g in block) <= 10 for block in blocks)
    assert len(blocks) == 4  # 32 nodes need at least 4 blocks of 10
    features, edges = _random_graphs(6, seed=5)
    block = make_blocks(features, edges, "uniform", nodes_per_block=20)[0]
    # Each graph's nodes list themselves and exactly their neighbours (weight 1), in a node order
    # sorted by the number of senders, so that every neighbour slot is used by a prefix of the rows.
    for k, member in enumerate(block.graphs):
        nodes = np.flatnonzero(block.pooling[k])
        assert len(nodes) == len(features[member])
        listed = {u: set(block.neighbours[u][block.weights[u] > 0].tolist()) for u in nodes}
        assert all(u in senders and senders <= set(nodes) for u, senders in listed.items())
        assert all(u in listed[v] for u in nodes for v in listed[u])  # undirected
        assert sum(len(senders) - 1 for senders in listed.values()) == 2 * len({tuple(sorted(e))
                                                                               for e in edges[member].tolist()})
    used = block.weights > 0
    counts = used.sum(0)
    assert all(used[:count, d].all() and not used[count:, d].any() for d, count in enumerate(counts))


def test_arccos_series_matches_numpy_to_rounding():
    c = np.concatenate([np.linspace(-1, 1, 20001), [0.5, -0.5, 1 - 1e-12, -1 + 1e-12]])
    np.testing.assert_allclose(np.asarray(arccos(c)), np.arccos(c), rtol=0, atol=2e-15)


def test_degree_scaling_averages_over_neighbours():
    pattern = aggregation_pattern(3, np.array([[0, 1]]), "degree")
    # node 0 and 1 each average over themselves and each other; node 2 keeps its own feature
    np.testing.assert_allclose(pattern.sum(axis=0), [1.0, 1.0, 1.0])
    assert pattern[0, 1] == pytest.approx(0.5) and pattern[2, 2] == 1.0
