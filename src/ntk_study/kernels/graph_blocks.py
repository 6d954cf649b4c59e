"""GNTK Gram matrices by sparse aggregation over blocks of graphs (fast path of ``graph.graph_network``).

The graph NTK of ``kernels.graph.graph_network`` is a recursion on node-pair kernels: an
aggregation maps a node-pair kernel S to c_u c_u' sum_{v in N(u)+u, v' in N(u')+u'} S_vv', a
(ReLU, Dense) layer maps it entrywise with the arc-cosine formulas, and the jumping-knowledge
readout sums every block's NTK over the node pairs of two graphs. Evaluating the stax kernel
directly pads every graph of a batch to one node count and aggregates with dense matmuls.

Here the graphs are packed into blocks of at most ``NODES_PER_BLOCK`` nodes (first-fit by
size, no padding inside a block). A block's adjacency is block-diagonal, so one node-pair kernel
between two blocks holds every graph pair across them, and aggregating it is a gather over each
node's neighbour list on the rows, then on the rows of the transpose: O(messages) per entry
instead of O(nodes) (a block's nodes are sorted by their number of senders, so the k-th neighbour
slot is gathered only for the rows that have one). Only block pairs
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

# Blocks of 384 nodes gave the fastest full NCI1 sweeps among 256-640 (measured, idle): a (2, n, n)
# float64 stack of 2.4 MB stays in cache, and XLA's transposes of 512-wide rows (a power-of-two
# stride) ran 2-4x slower per entry than those of neighbouring sizes.
NODES_PER_BLOCK = 384
# On the matmul path an aggregation costs a block's node count per entry, so its blocks are as
# small as the largest graph allows (rounded up to this).
DENSE_BLOCK_STEP = 64
# Above this many neighbour slots a dense block-diagonal matmul is cheaper than the gathers.
MAX_GATHER_SLOTS = 32
# asin(x) = x sum_k a_k z^k with z = x^2 and a_k = (2k)! / (4^k (k!)^2 (2k+1)), used on x <= 1/2. The
# Taylor series needs 26 terms there to reach float64 rounding; keeping its first 5 terms and
# replacing the tail by its degree-9 Chebyshev interpolant on z in [0, 1/4] needs 15 (the same
# 1.1e-16 worst error on a fine grid; the tail's conversion error is damped by z^5 <= 1e-3).
_ASIN_TAYLOR_TERMS = 5
_ASIN_TAIL_DEGREE = 9


def _asin_coefficients() -> list[float]:
    taylor = [math.comb(2 * k, k) / 4**k / (2 * k + 1) for k in range(80)]
    tail = np.polynomial.Chebyshev.interpolate(
        lambda z: np.polynomial.polynomial.polyval(z, taylor[_ASIN_TAYLOR_TERMS:]), _ASIN_TAIL_DEGREE, domain=[0, 0.25])
    return taylor[:_ASIN_TAYLOR_TERMS] + [float(c) for c in tail.convert(kind=np.polynomial.Polynomial).coef]


_ASIN_COEFFICIENTS = _asin_coefficients()


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
        # Nodes with the most senders first, so that the users of each slot are a prefix of the rows.
        order = np.argsort(-(weights > 0).sum(1), kind="stable")
        position = np.empty_like(order)
        position[order] = np.arange(nodes)
        blocks.append(NodeBlock(np.array(members), x[order], position[neighbours[order]].astype(np.int32),
                                weights[order], pooling[:, order]))
    return blocks


# The sweep works on normalised node-pair kernels: cosines rho = Sigma / (sd sd') and tau = Theta / (sd sd'),
# with sd the nodes' standard deviations, held as one stacked array (2, n1, n2). A (ReLU, Dense) layer
# keeps sd, so on (rho, tau) it is a pure entrywise map, and an aggregation is a gather with per-block
# weights w[u, d] sd_prev[v] / sd[u]. Each stage is its own small compiled function: in larger fusions
# XLA's CPU backend recomputed the arc-cosine series per consumer and emitted scalar code for the
# gathers (3-6x slower, measured on NCI1 blocks; optimization barriers inside one function did not
# help). Stacking rho and tau halves the calls and makes gathers and transposes 20-30% cheaper.
@jax.jit
def _angles(kernels):
    return arccos(jnp.clip(kernels[0], -1, 1))


@jax.jit
def _relu_dense_from_angles(kernels, angle):
    rho = jnp.clip(kernels[0], -1, 1)
    rho_next = (jnp.sqrt(1 - rho * rho) + (jnp.pi - angle) * rho) / jnp.pi
    return jnp.stack([rho_next, kernels[1] * (1 - angle / jnp.pi) + rho_next])


def relu_dense(kernels: jnp.ndarray) -> jnp.ndarray:
    """One (ReLU, Dense(W_std^2 = 2)) layer on stacked normalised kernels (rho, tau); c_sigma = 2 keeps sd."""
    return _relu_dense_from_angles(kernels, _angles(kernels))


@functools.partial(jax.jit, static_argnames="slot_rows")
def _gather_rows(kernels, neighbours, weights, slot_rows: tuple[int, ...]):
    """sum_d weights[:, d] kernels[:, neighbours[:, d]]; slot d is used by the first slot_rows[d] rows only
    (nodes sorted by their number of senders), so it costs the number of messages, not rows x slots."""
    out = weights[None, :, 0, None] * kernels[:, neighbours[:, 0]]
    for d in range(1, neighbours.shape[1]):
        rows = slot_rows[d]
        out = out.at[:, :rows].add(weights[None, :rows, d, None] * kernels[:, neighbours[:rows, d]])
    return out


# A plain transpose, as its own call: fused into the gather that feeds it, XLA's CPU backend emitted
# a strided gather 12x slower than the row gather plus this copy (measured on PROTEINS blocks).
_transpose = jax.jit(lambda kernels: jnp.transpose(kernels, (0, 2, 1)))


@jax.jit
def _matmul_both_sides_transposed(kernels, first, second):
    return second @ jnp.transpose(kernels, (0, 2, 1)) @ first.T


def _aggregate_transposed(kernels, first, second, slot_rows: tuple[int, ...] | None):
    """(W1 K W2^T)^T = W2 (W1 K)^T for each of the stacked kernels K, with aggregation matrices W (dense)
    or neighbour tables (neighbours, weights). The transpose comes free: on the gather path it is two
    row gathers, which read contiguous rows, and one transpose between them (gathering columns
    directly was 6x slower, measured on PROTEINS blocks); the caller tracks the orientation.
    ``slot_rows`` None: the matmul path."""
    if slot_rows is None:
        return _matmul_both_sides_transposed(kernels, first, second)
    return _gather_rows(_transpose(_gather_rows(kernels, *first, slot_rows)), *second, slot_rows)


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
def _accumulate(jump, kernels, sd1, sd2):
    return jump + sd1[:, None] * sd2[None, :] * kernels[1]


@jax.jit
def _pool(pool1, kernel, pool2):
    return pool1 @ kernel @ pool2.T


@jax.jit
def _input_layer(x1, x2):
    """The input Dense layer (W_std = 1): Sigma = Theta = x x'^T / tags, as stacked normalised
    kernels (rho, tau), Sigma itself, and the nodes' sd."""
    tags = x1.shape[1]
    sd1, sd2 = jnp.sqrt(jnp.sum(x1 * x1, 1) / tags), jnp.sqrt(jnp.sum(x2 * x2, 1) / tags)
    sigma = x1 @ x2.T / tags
    rho = sigma * _inverse(sd1)[:, None] * _inverse(sd2)[None, :]
    return jnp.stack([rho, rho]), sigma, sd1, sd2


@jax.jit
def _normalise_by_diagonal(kernels):
    """Stacked (Sigma, Theta) of a block with itself to (rho, tau), with the nodes' sd from Sigma."""
    sd = jnp.sqrt(jnp.maximum(jnp.diagonal(kernels[0]), 0))
    inverse = _inverse(sd)
    return kernels * inverse[None, :, None] * inverse[None, None, :], sd


def _self_aggregate(kernels, sd, aggregation, slot_rows: tuple[int, ...] | None):
    """A block with itself: aggregate the unnormalised kernels, read the new sd off Sigma's diagonal
    (the kernels are symmetric, so the transposed aggregation is the aggregation)."""
    before = _normalised_weights(aggregation, sd, jnp.ones_like(sd), slot_rows is None)
    return _normalise_by_diagonal(_aggregate_transposed(kernels, before, before, slot_rows))


def _sweep(first: tuple, second: tuple, layers_per_block: int, readout: tuple[int, ...],
           slot_rows: tuple[int, ...] | None,
           messages: tuple[list, list] | None = None) -> tuple[np.ndarray, list | None]:
    """The pooled jumping-knowledge NTK of two node blocks at every readout depth. For a block with
    itself (``messages`` None) also its messages: per network block, the aggregation on normalised
    kernels and the nodes' sd after it, which every pair with that block reuses.
    ``slot_rows``: the gather path's rows per neighbour slot; None: the matmul path."""
    dense = slot_rows is None
    (x1, aggregation, pool1), (x2, _, pool2) = first, second
    kernels, sigma, sd1, sd2 = _input_layer(x1, x2)
    # Each aggregation transposes the kernels; ``flipped``: they are (block 2 nodes, block 1 nodes).
    # The readout sums over blocks in both orientations, one accumulator each.
    flipped = False
    jumps = [sigma, jnp.zeros(sigma.shape[::-1])]
    own = []
    grams = []
    for block in range(1, readout[-1] + 1):
        if messages is None:
            sd_prev = sd1
            kernels, sd1 = _self_aggregate(kernels, sd_prev, aggregation, slot_rows)
            sd2 = sd1
            own.append((_normalised_weights(aggregation, sd_prev, sd1, dense), sd1))
        else:
            (w1, sd1), (w2, sd2) = messages[0][block - 1], messages[1][block - 1]
            kernels = _aggregate_transposed(kernels, *((w2, w1) if flipped else (w1, w2)), slot_rows)
        flipped = not flipped
        for _ in range(layers_per_block):
            kernels = relu_dense(kernels)
        jumps[flipped] = _accumulate(jumps[flipped], kernels, *((sd2, sd1) if flipped else (sd1, sd2)))
        if block in readout:
            grams.append(_pool(pool1, jumps[0], pool2) + _pool(pool2, jumps[1], pool1).T)
    return np.stack([np.asarray(g) for g in grams]), (own if messages is None else None)


def gntk_grams(features: list[np.ndarray], edges: list[np.ndarray], scale: str, readout_blocks: list[int],
               layers_per_block: int, nodes_per_block: int = NODES_PER_BLOCK,
               threads: int = 1) -> dict[int, np.ndarray]:
    """GNTK Gram matrices {L: (G, G)} of ``graph_network(L, layers_per_block)`` for every L in
    ``readout_blocks``, from one sweep; features: one-hot (n_i, tags); edges: (E_i, 2) per graph.
    ``threads`` block pairs run side by side (XLA runs each on one core). ``nodes_per_block`` applies
    to the gather path; the matmul path (dense graphs) sizes its blocks to the largest graph."""
    blocks = make_blocks(features, edges, scale, nodes_per_block)
    dense = blocks[0].neighbours.shape[1] > MAX_GATHER_SLOTS
    # Rows per neighbour slot: its most users in any block (shapes are shared, so one compilation).
    slot_rows = None if dense else tuple(int(r) for r in np.max([(b.weights > 0).sum(0) for b in blocks], axis=0))
    readout = tuple(sorted(set(readout_blocks)))
    inputs = [(jnp.asarray(b.features),
               jnp.asarray(b.aggregation_matrix()) if dense else (jnp.asarray(b.neighbours), jnp.asarray(b.weights)),
               jnp.asarray(b.pooling)) for b in blocks]
    grams = np.zeros((len(readout), len(features), len(features)))

    def self_pair(i: int) -> list:
        pooled, messages = _sweep(inputs[i], inputs[i], layers_per_block, readout, slot_rows)
        pooled = (pooled + pooled.transpose(0, 2, 1)) / 2  # exactly symmetric (rounding aside, it is)
        _place(grams, pooled, blocks[i], blocks[i])
        return messages

    with ThreadPoolExecutor(threads) as pool:
        messages = list(pool.map(self_pair, range(len(blocks))))

        def cross_pair(pair: tuple[int, int]) -> None:
            i, j = pair
            pooled, _ = _sweep(inputs[i], inputs[j], layers_per_block, readout, slot_rows,
                               (messages[i], messages[j]))
            _place(grams, pooled, blocks[i], blocks[j])

        list(pool.map(cross_pair, [(i, j) for i in range(len(blocks)) for j in range(i + 1, len(blocks))]))
    return {depth: grams[k] for k, depth in enumerate(readout)}


def _place(grams: np.ndarray, pooled: np.ndarray, first: NodeBlock, second: NodeBlock) -> None:
    rows, cols = first.graphs, second.graphs
    values = pooled[:, :len(rows), :len(cols)]
    grams[:, rows[:, None], cols[None, :]] = values
    grams[:, cols[:, None], rows[None, :]] = values.transpose(0, 2, 1)
