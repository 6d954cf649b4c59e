"""GNTK Gram matrices by sparse aggregation over blocks of graphs (fast path of ``graph.graph_network``).

The graph NTK of ``kernels.graph.graph_network`` is a recursion on node-pair kernels: an
aggregation maps a node-pair kernel S to c_u c_u' sum_{v in N(u)+u, v' in N(u')+u'} S_vv', a
(ReLU, Dense) layer maps it entrywise with the arc-cosine formulas, and the jumping-knowledge
readout sums every block's NTK over the node pairs of two graphs. Evaluating the stax kernel
directly pads every graph of a batch to one node count and aggregates with dense matmuls.

Here the graphs are packed into blocks of at most ``NODES_PER_BLOCK`` nodes (first-fit by
size, no padding inside a block). A block's adjacency is block-diagonal, so one node-pair kernel
between two blocks holds every graph pair across them, and aggregating it is a gather over each
node's neighbour list (as many slots as the most neighbours + self in the set) on the
rows and then on the columns: O(neighbours) per entry instead of O(nodes). Only block pairs
I <= J are computed (the Gram matrix is symmetric), and one sweep through the blocks of the
network yields the Gram matrix of every depth of the grid. Sets with dense graphs (IMDB: up to
136 neighbours) aggregate with a block-diagonal matmul instead, on blocks as small as their
largest graph allows, which is cheaper there. Block pairs run on ``threads`` threads.

The values equal the stax kernel's (tests/test_graph_kernel.py, float64); the arc-cosine is
evaluated by a series (``arccos``) because XLA's scalar acos dominated the cost.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ntk_study.kernels.graph import SCALES

NODES_PER_BLOCK = 512
# On the matmul path an aggregation costs a block's node count per entry, so its blocks are as
# small as the largest graph allows (rounded up to this).
DENSE_BLOCK_STEP = 64
# Above this many neighbour slots a dense block-diagonal matmul is cheaper than the gathers.
MAX_GATHER_SLOTS = 32
# asin(x) = sum_k a_k x^(2k+1) with a_k = (2k)! / (4^k (k!)^2 (2k+1)); on |x| <= 1/2 the 26th term
# is below 1e-17, so the truncated series is exact to float64 rounding.
_ASIN_TERMS = 26
_ASIN_COEFFICIENTS = [math.comb(2 * k, k) / 4**k / (2 * k + 1) for k in range(_ASIN_TERMS)]


def arccos(c: jnp.ndarray) -> jnp.ndarray:
    """arccos on [-1, 1] to float64 rounding, from the asin series on [0, 1/2] and
    asin(a) = pi/2 - 2 asin(sqrt((1 - a) / 2)) above; vectorises, unlike XLA's CPU acos (5x faster)."""
    a = jnp.abs(c)
    upper = a > 0.5
    x = jnp.where(upper, jnp.sqrt(jnp.maximum((1 - a) / 2, 0.0)), a)
    z = x * x
    series = jnp.full_like(x, _ASIN_COEFFICIENTS[-1])
    for coefficient in reversed(_ASIN_COEFFICIENTS[:-1]):
        series = series * z + coefficient
    series = series * x
    asin_a = jnp.where(upper, jnp.pi / 2 - 2 * series, series)
    return jnp.pi / 2 - jnp.sign(c) * asin_a


@dataclass(frozen=True)
class NodeBlock:
    """Graphs packed into one block of ``nodes`` node slots (the unused slots are empty nodes)."""
    graphs: np.ndarray  # (g,) indices of the block's graphs in the set
    features: np.ndarray  # (nodes, tags)
    neighbours: np.ndarray  # (nodes, slots) int: sources of u's messages (u itself included)
    weights: np.ndarray  # (nodes, slots): c_u per real neighbour slot, 0 for unused slots
    pooling: np.ndarray  # (max graphs per block, nodes): 1 where a node belongs to the block's k-th graph

    def aggregation_matrix(self) -> np.ndarray:
        """(nodes, nodes) dense W with W[u, v] = weight of v's message to u (block-diagonal)."""
        matrix = np.zeros((len(self.features),) * 2)
        rows = np.repeat(np.arange(len(self.features)), self.neighbours.shape[1])
        np.add.at(matrix, (rows, self.neighbours.ravel()), self.weights.ravel())
        return matrix


def neighbour_lists(n_nodes: int, edges: np.ndarray) -> list[np.ndarray]:
    """Per node u, the sorted distinct senders of u's messages: its neighbours and u itself."""
    lists: list[set[int]] = [{u} for u in range(n_nodes)]
    for v, u in np.asarray(edges, dtype=np.int64).reshape(-1, 2):
        lists[u].add(int(v))
        lists[v].add(int(u))
    return [np.array(sorted(members)) for members in lists]


def pack_graphs(sizes: list[int], nodes_per_block: int) -> list[list[int]]:
    """First-fit decreasing: graphs into blocks of at most ``nodes_per_block`` nodes (a larger graph
    gets a block of its own)."""
    blocks: list[list[int]] = []
    free: list[int] = []
    for g in sorted(range(len(sizes)), key=lambda g: -sizes[g]):
        for b, room in enumerate(free):
            if sizes[g] <= room:
                blocks[b].append(g)
                free[b] -= sizes[g]
                break
        else:
            blocks.append([g])
            free.append(nodes_per_block - sizes[g])
    return [sorted(block) for block in blocks]


def make_blocks(features: list[np.ndarray], edges: list[np.ndarray], scale: str,
                nodes_per_block: int = NODES_PER_BLOCK) -> list[NodeBlock]:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    senders = [neighbour_lists(len(f), e) for f, e in zip(features, edges)]
    slots = max(len(s) for graph in senders for s in graph)
    largest = max(len(f) for f in features)
    if slots > MAX_GATHER_SLOTS:
        nodes = -(-largest // DENSE_BLOCK_STEP) * DENSE_BLOCK_STEP
    else:
        nodes = max(nodes_per_block, largest)
    packed = pack_graphs([len(f) for f in features], nodes)
    graphs_per_block = max(len(block) for block in packed)
    blocks = []
    for members in packed:
        x = np.zeros((nodes, features[0].shape[1]))
        neighbours = np.zeros((nodes, slots), dtype=np.int32)
        weights = np.zeros((nodes, slots))
        pooling = np.zeros((graphs_per_block, nodes))
        start = 0
        for k, g in enumerate(members):
            x[start:start + len(features[g])] = features[g]
            for u, sources in enumerate(senders[g]):
                neighbours[start + u, :len(sources)] = sources + start
                weights[start + u, :len(sources)] = 1.0 / len(sources) if scale == "degree" else 1.0
            pooling[k, start:start + len(features[g])] = 1.0
            start += len(features[g])
        blocks.append(NodeBlock(np.array(members), x, neighbours, weights, pooling))
    return blocks


# The sweep works on normalised node-pair kernels: cosines rho = Sigma / (sd sd') and tau = Theta / (sd sd'),
# with sd the nodes' standard deviations. A (ReLU, Dense) layer keeps sd, so on (rho, tau) it is a
# pure entrywise map, and an aggregation is a gather with per-block weights w[u, d] sd_prev[v] / sd[u].
# Each stage is its own small compiled function: in larger fusions XLA's CPU backend recomputed
# the arc-cosine series per consumer and emitted scalar code for the gathers (3-6x slower, measured
# on NCI1 blocks); separate calls cost ~20 us each, negligible against ms-long stages.
_angles = jax.jit(lambda rho: arccos(jnp.clip(rho, -1, 1)))


@jax.jit
def _relu_dense_from_angles(rho, angle, tau):
    rho = jnp.clip(rho, -1, 1)
    rho_next = (jnp.sqrt(1 - rho * rho) + (jnp.pi - angle) * rho) / jnp.pi
    return rho_next, tau * (1 - angle / jnp.pi) + rho_next


def relu_dense(rho: jnp.ndarray, tau: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """One (ReLU, Dense(W_std^2 = 2)) layer on normalised kernels (c_sigma = 2 keeps sd)."""
    return _relu_dense_from_angles(rho, _angles(rho), tau)


@jax.jit
def _gather_rows(kernel, neighbours, weights):
    out = weights[:, 0, None] * kernel[neighbours[:, 0]]
    for d in range(1, neighbours.shape[1]):
        out = out + weights[:, d, None] * kernel[neighbours[:, d]]
    return out


@jax.jit
def _gather_columns(kernel, neighbours, weights):
    out = weights[None, :, 0] * kernel[:, neighbours[:, 0]]
    for d in range(1, neighbours.shape[1]):
        out = out + weights[None, :, d] * kernel[:, neighbours[:, d]]
    return out


@jax.jit
def _matmul_both_sides(kernel, first, second):
    return first @ kernel @ second.T


def _aggregate(kernel, first, second, dense: bool):
    """W1 K W2^T for aggregation matrices W (dense) or neighbour tables (neighbours, weights).
    Rows and columns are separate compiled calls: fused, XLA's gathers were 6x slower (measured)."""
    if dense:
        return _matmul_both_sides(kernel, first, second)
    return _gather_columns(_gather_rows(kernel, *first), *second)


def _inverse(sd):
    return jnp.where(sd > 0, 1 / jnp.where(sd > 0, sd, 1), 0)  # empty nodes (sd = 0) stay zero


@functools.partial(jax.jit, static_argnames="dense")
def _normalised_weights(aggregation, sd_before, sd_after, dense: bool):
    """The aggregation on normalised kernels: w[u, v] sd_before[v] / sd_after[u]."""
    if dense:
        return aggregation * sd_before[None, :] * _inverse(sd_after)[:, None]
    neighbours, weights = aggregation
    return neighbours, weights * sd_before[neighbours] * _inverse(sd_after)[:, None]


@jax.jit
def _accumulate(jump, tau, sd1, sd2):
    return jump + sd1[:, None] * sd2[None, :] * tau


@jax.jit
def _pool(pool1, kernel, pool2):
    return pool1 @ kernel @ pool2.T


@jax.jit
def _input_layer(x1, x2):
    """The input Dense layer (W_std = 1): Sigma = Theta = x x'^T / tags, and the nodes' sd."""
    tags = x1.shape[1]
    sd1, sd2 = jnp.sqrt(jnp.sum(x1 * x1, 1) / tags), jnp.sqrt(jnp.sum(x2 * x2, 1) / tags)
    sigma = x1 @ x2.T / tags
    return sigma * _inverse(sd1)[:, None] * _inverse(sd2)[None, :], sigma, sd1, sd2


@jax.jit
def _normalise_by_diagonal(sigma):
    sd = jnp.sqrt(jnp.maximum(jnp.diagonal(sigma), 0))
    inverse = _inverse(sd)
    return sigma * inverse[:, None] * inverse[None, :], sd


def _self_aggregate(rho, sd, aggregation, dense: bool):
    """A block with itself: aggregate the unnormalised kernel, read the new sd off its diagonal."""
    before = _normalised_weights(aggregation, sd, jnp.ones_like(sd), dense)
    return _normalise_by_diagonal(_aggregate(rho, before, before, dense))


def _sweep(first: tuple, second: tuple, layers_per_block: int, readout: tuple[int, ...], dense: bool,
           deviations: tuple[jnp.ndarray, jnp.ndarray] | None = None) -> tuple[np.ndarray, jnp.ndarray | None]:
    """The pooled jumping-knowledge NTK of two node blocks at every readout depth; for a block with
    itself (``deviations`` None) also the nodes' sd entering every network block (row 0: the input)."""
    (x1, agg1, pool1), (x2, agg2, pool2) = first, second
    rho, jump, sd1, sd2 = _input_layer(x1, x2)
    tau = rho
    own = [sd1]
    grams = []
    for block in range(1, readout[-1] + 1):
        if deviations is None:
            sd_prev = sd1
            rho, sd1 = _self_aggregate(rho, sd_prev, agg1, dense)
            tau = _aggregate(tau, *[_normalised_weights(agg1, sd_prev, sd1, dense)] * 2, dense)
            sd2 = sd1
            own.append(sd1)
        else:
            w1 = _normalised_weights(agg1, deviations[0][block - 1], deviations[0][block], dense)
            w2 = _normalised_weights(agg2, deviations[1][block - 1], deviations[1][block], dense)
            rho, tau = _aggregate(rho, w1, w2, dense), _aggregate(tau, w1, w2, dense)
            sd1, sd2 = deviations[0][block], deviations[1][block]
        for _ in range(layers_per_block):
            rho, tau = relu_dense(rho, tau)
        jump = _accumulate(jump, tau, sd1, sd2)
        if block in readout:
            grams.append(_pool(pool1, jump, pool2))
    return np.stack([np.asarray(g) for g in grams]), (jnp.stack(own) if deviations is None else None)


def gntk_grams(features: list[np.ndarray], edges: list[np.ndarray], scale: str, readout_blocks: list[int],
               layers_per_block: int, nodes_per_block: int = NODES_PER_BLOCK,
               threads: int = 1) -> dict[int, np.ndarray]:
    """GNTK Gram matrices {L: (G, G)} of ``graph_network(L, layers_per_block)`` for every L in
    ``readout_blocks``, from one sweep; features: one-hot (n_i, tags); edges: (E_i, 2) per graph.
    ``threads`` block pairs run side by side (XLA runs each on one core). ``nodes_per_block`` applies
    to the gather path; the matmul path (dense graphs) sizes its blocks to the largest graph."""
    blocks = make_blocks(features, edges, scale, nodes_per_block)
    dense = blocks[0].neighbours.shape[1] > MAX_GATHER_SLOTS
    readout = tuple(sorted(set(readout_blocks)))
    inputs = [(jnp.asarray(b.features),
               jnp.asarray(b.aggregation_matrix()) if dense else (jnp.asarray(b.neighbours), jnp.asarray(b.weights)),
               jnp.asarray(b.pooling)) for b in blocks]
    grams = np.zeros((len(readout), len(features), len(features)))

    def self_pair(i: int) -> jnp.ndarray:
        pooled, deviations = _sweep(inputs[i], inputs[i], layers_per_block, readout, dense)
        pooled = (pooled + pooled.transpose(0, 2, 1)) / 2  # exactly symmetric (rounding aside, it is)
        _place(grams, pooled, blocks[i], blocks[i])
        return deviations

    with ThreadPoolExecutor(threads) as pool:
        deviations = list(pool.map(self_pair, range(len(blocks))))

        def cross_pair(pair: tuple[int, int]) -> None:
            i, j = pair
            pooled, _ = _sweep(inputs[i], inputs[j], layers_per_block, readout, dense, (deviations[i], deviations[j]))
            _place(grams, pooled, blocks[i], blocks[j])

        list(pool.map(cross_pair, [(i, j) for i in range(len(blocks)) for j in range(i + 1, len(blocks))]))
    return {depth: grams[k] for k, depth in enumerate(readout)}


def _place(grams: np.ndarray, pooled: np.ndarray, first: NodeBlock, second: NodeBlock) -> None:
    rows, cols = first.graphs, second.graphs
    values = pooled[:, :len(rows), :len(cols)]
    grams[:, rows[:, None], cols[None, :]] = values
    grams[:, cols[:, None], rows[None, :]] = values.transpose(0, 2, 1)
