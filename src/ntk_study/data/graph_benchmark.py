"""Graph classification tasks from the prepared ``tu-<NAME>.npz`` files, as GNTK inputs.

Node features are one-hot node tags, except for the social networks (IMDB, COLLAB: no node
labels), which use one-hot node degrees, as in the GIN and GNTK papers. A run may cap the graphs
per task (``max_graphs``): a seeded subset, with the 10 GIN folds restricted to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntk_study.data.errors import GraphSetAbsent
from ntk_study.data.subsets import CappedRows

N_FOLDS = 10
DEGREE_FEATURES = ("IMDBBINARY", "IMDBMULTI", "COLLAB")


@dataclass
class GraphTask:
    name: str
    labels: np.ndarray  # (G,)
    features: list[np.ndarray]  # per graph (n_nodes, feature dim) one-hot
    edges: list[np.ndarray]  # per graph (E, 2), node indices within the graph
    n_graphs: int  # before any cap
    folds: list[tuple[np.ndarray, np.ndarray]]  # 10 x (train, test) positions among the kept graphs


def load_graph_task(prepared: Path, name: str, max_graphs: int | None, seed: int) -> GraphTask:
    """The task of ``prepared``; raises GraphSetAbsent for an optional set the data source lacked."""
    with np.load(prepared) as data:
        if "absent_reason" in data.files:
            raise GraphSetAbsent(str(data["absent_reason"]))
        labels, offsets = data["labels"], data["node_offsets"]
        tags, edges = data["node_tags"], data["edges"]
        folds = [(data[f"fold{k}_train"], data[f"fold{k}_test"]) for k in range(N_FOLDS)]
    n = len(labels)
    owner = np.searchsorted(offsets, edges[:, 0], side="right") - 1
    graph_edges = [edges[owner == g] - offsets[g] for g in range(n)]
    if name in DEGREE_FEATURES:
        degrees = np.zeros(offsets[-1], dtype=np.int64)
        np.add.at(degrees, edges[:, 0], 1)
        tags = degrees
    _, tag_index = np.unique(tags, return_inverse=True)
    one_hot = np.eye(tag_index.max() + 1)[tag_index]
    features = [one_hot[offsets[g]:offsets[g + 1]] for g in range(n)]
    rows = CappedRows(n, max_graphs, seed, name)
    return GraphTask(name, labels[rows.kept], [features[g] for g in rows.kept], [graph_edges[g] for g in rows.kept],
                     n, [rows.restrict(fold) for fold in folds])
