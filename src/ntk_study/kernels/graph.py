"""Graph NTK (Du et al. 2019a) from neural-tangents: ``stax.Aggregate`` blocks with a jumping-knowledge readout.

The network: a Dense input layer on the one-hot node features, then ``blocks`` blocks of
[Aggregate over the neighbours incl. self -> ``layers_per_block`` x (ReLU, Dense)], and a
readout summing every block's output (and the input layer's) over the nodes (jumping
knowledge). Its NTK is the published recursion: Sigma^(0) = Theta^(0) = <h_u, h_u'>; an
aggregation maps both to c_u c_u' sum_{v in N(u)+u, v' in N(u')+u'} (.)_{vv'}; a (ReLU, Dense) layer
maps Theta to Theta * Sigma-dot + Sigma; the Gram entry is sum_l sum_{u,u'} Theta^(l)_{uu'}.
"uniform" scaling has c_u = 1, "degree" scaling c_u = 1 / (deg(u) + 1).

Graphs of different sizes are zero-padded: a padded node has no features and no edges, so it
contributes nothing. To keep the padding small, the Gram matrix is computed in batches of
graphs sorted by size, each padded only to its bucket of node counts (steps of 1.5x and 4/3x).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import jax
import numpy as np
from neural_tangents import stax

from ntk_study.kernels.fully_connected import RELU_W_STD

SCALES = ("uniform", "degree")
# The jumping-knowledge sum adds a pooled block output to deeper branches that start with Dense
# layers of their own, so the branches are independent in the limit as FanInSum assumes.
warnings.filterwarnings("ignore", message="`FanIn` layers assume independent inputs")
# (graphs x nodes) per batch side: each kernel array of a batch pair holds at most this squared.
BATCH_NODES = 512


@dataclass(frozen=True)
class GraphBatch:
    features: np.ndarray  # (graphs, nodes, tags) one-hot, zero rows for padding
    pattern: np.ndarray  # (graphs, nodes, nodes): pattern[v, u] = weight of v's message to u


def _jumping_knowledge(blocks: int, layers_per_block: int, width: int):
    """The readout-summing tail: pool here, and continue into the next block (if any)."""
    pool = stax.GlobalSumPool()
    if blocks == 0:
        return pool
    mlp = []
    for _ in range(layers_per_block):
        mlp += [stax.Relu(), stax.Dense(width, W_std=RELU_W_STD, b_std=None)]
    block = stax.serial(stax.Aggregate(aggregate_axis=1, batch_axis=0, channel_axis=-1), *mlp)
    deeper = stax.serial(block, _jumping_knowledge(blocks - 1, layers_per_block, width))
    return stax.serial(stax.FanOut(2), stax.parallel(pool, deeper), stax.FanInSum())


def graph_network(blocks: int, layers_per_block: int, width: int = 512):
    """``(init_fn, apply_fn, kernel_fn)``; call with ``pattern=`` (one or a pair of adjacency batches)."""
    return stax.serial(stax.Dense(width, W_std=1.0, b_std=None),
                       _jumping_knowledge(blocks, layers_per_block, width))


def aggregation_pattern(n_nodes: int, edges: np.ndarray, scale: str) -> np.ndarray:
    """(A + I) with columns scaled by c_u, for edges (E, 2) given within the graph (0-based)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    adjacency = np.eye(n_nodes)
    adjacency[edges[:, 0], edges[:, 1]] = 1.0
    adjacency[edges[:, 1], edges[:, 0]] = 1.0
    if scale == "degree":
        adjacency /= adjacency.sum(axis=0, keepdims=True)
    return adjacency


def node_bucket(n: int) -> int:
    """The smallest of 8, 12, 16, 24, 32, 48, ... (powers of 2 and 1.5 x powers of 2) holding n nodes.

    Aggregation costs grow with the cube of the padded node count, so the 1.5x steps pay for their
    extra compilations on sets with large graphs (PROTEINS: 13.5 s instead of 19.8 s on a sample).
    """
    size = 8
    while size < n:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return size


def make_batch(features: list[np.ndarray], patterns: list[np.ndarray], graphs: int, nodes: int) -> GraphBatch:
    tags = features[0].shape[1]
    x = np.zeros((graphs, nodes, tags))
    p = np.zeros((graphs, nodes, nodes))
    for i, (f, a) in enumerate(zip(features, patterns)):
        x[i, :len(f)] = f
        p[i, :len(a), :len(a)] = a
    return GraphBatch(x, p)


@functools.lru_cache(maxsize=None)
def _layer_fns(layers_per_block: int):
    """Jitted pieces of ``graph_network``'s kernel: the input layer, one block, the sum pooling.

    Walking the blocks one at a time (the same compiled block each time) gives the pooled NTK
    after every block, so one pass yields the Gram matrix of every depth up to the deepest.
    """
    width = 512
    _, _, embed = stax.Dense(width, W_std=1.0, b_std=None)
    mlp = []
    for _ in range(layers_per_block):
        mlp += [stax.Relu(), stax.Dense(width, W_std=RELU_W_STD, b_std=None)]
    _, _, block = stax.serial(stax.Aggregate(aggregate_axis=1, batch_axis=0, channel_axis=-1), *mlp)
    _, _, pool = stax.GlobalSumPool()
    embed_fn = jax.jit(lambda x1, x2: embed(x1, x2, None))
    block_fn = jax.jit(lambda kernel, p1, p2: block(kernel, pattern=(p1, p2)))
    pool_fn = jax.jit(lambda kernel: pool(kernel).ntk)
    return embed_fn, block_fn, pool_fn


def _batches(features: list[np.ndarray], patterns: list[np.ndarray]) -> list[tuple[np.ndarray, GraphBatch]]:
    """Graphs sorted by size, in batches padded to their node bucket: (graph indices, batch)."""
    order = np.argsort([len(f) for f in features], kind="stable")
    batches = []
    start = 0
    while start < len(order):
        nodes = node_bucket(len(features[order[start]]))
        graphs = max(1, BATCH_NODES // nodes)
        members = [g for g in order[start:start + graphs] if len(features[g]) <= nodes]
        start += len(members)
        batches.append((np.array(members), make_batch([features[g] for g in members],
                                                      [patterns[g] for g in members], graphs, nodes)))
    return batches


def gntk_grams(features: list[np.ndarray], patterns: list[np.ndarray], max_blocks: int,
               layers_per_block: int) -> dict[int, np.ndarray]:
    """GNTK Gram matrices {blocks L: (G, G)} for L = 1..max_blocks, jumping-knowledge readout.

    features: one-hot (n_i, tags) per graph; patterns: (n_i, n_i) per graph (``aggregation_pattern``).
    """
    embed_fn, block_fn, pool_fn = _layer_fns(layers_per_block)
    batches = _batches(features, patterns)
    grams = np.zeros((max_blocks + 1, len(features), len(features)))
    for i, (rows, first) in enumerate(batches):
        for cols, second in batches[i:]:
            kernel = embed_fn(first.features, second.features)
            pooled = [pool_fn(kernel)]
            for _ in range(max_blocks):
                kernel = block_fn(kernel, first.pattern, second.pattern)
                pooled.append(pool_fn(kernel))
            block = np.cumsum(np.stack([np.asarray(p) for p in pooled]), axis=0)[:, :len(rows), :len(cols)]
            grams[:, rows[:, None], cols[None, :]] = block
            grams[:, cols[:, None], rows[None, :]] = block.transpose(0, 2, 1)
    return {blocks: grams[blocks] for blocks in range(1, max_blocks + 1)}
