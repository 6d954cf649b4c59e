"""Graph NTK (Du et al. 2019a) from neural-tangents: ``stax.Aggregate`` blocks with a jumping-knowledge readout.

The network: a Dense input layer on the one-hot node features, then ``blocks`` blocks of
[Aggregate over the neighbours incl. self -> ``layers_per_block`` x (ReLU, Dense)], and a
readout summing every block's output (and the input layer's) over the nodes (jumping
knowledge). Its NTK is the published recursion: Sigma^(0) = Theta^(0) = <h_u, h_u'>; an
aggregation maps both to c_u c_u' sum_{v in N(u)+u, v' in N(u')+u'} (.)_{vv'}; a (ReLU, Dense) layer
maps Theta to Theta * Sigma-dot + Sigma; the Gram entry is sum_l sum_{u,u'} Theta^(l)_{uu'}.
"uniform" scaling has c_u = 1, "degree" scaling c_u = 1 / (deg(u) + 1).

This module is the definition; ``make_batch`` zero-pads graphs (a padded node has no features and
no edges, so it contributes nothing) to evaluate it directly. The study's Gram matrices come from
``kernels.graph_blocks``, which evaluates the same kernel by sparse aggregation and is tested
equal to this one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from neural_tangents import stax

from ntk_study.kernels.fully_connected import RELU_W_STD

SCALES = ("uniform", "degree")
# The jumping-knowledge sum adds a pooled block output to deeper branches that start with Dense
# layers of their own, so the branches are independent in the limit as FanInSum assumes.
warnings.filterwarnings("ignore", message="`FanIn` layers assume independent inputs")


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


def make_batch(features: list[np.ndarray], patterns: list[np.ndarray], graphs: int, nodes: int) -> GraphBatch:
    tags = features[0].shape[1]
    x = np.zeros((graphs, nodes, tags))
    p = np.zeros((graphs, nodes, nodes))
    for i, (f, a) in enumerate(zip(features, patterns)):
        x[i, :len(f)] = f
        p[i, :len(a), :len(a)] = a
    return GraphBatch(x, p)
