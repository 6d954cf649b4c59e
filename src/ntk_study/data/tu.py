"""TU graph-classification sets in the GIN repository format (``dataset.zip``).

``dataset/<NAME>/<NAME>.txt``: the number of graphs, then per graph a line ``n label``
followed by n node lines ``tag m nbr_1 ... nbr_m``. ``dataset/<NAME>/10fold_idx/``
holds ``train_idx-k.txt`` / ``test_idx-k.txt`` (k = 1..10), one graph index per line.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntk_study.data.errors import DataError, GraphSetAbsent

N_FOLDS = 10


@dataclass
class GraphSet:
    name: str
    labels: np.ndarray  # (G,) class index, in order of first appearance
    node_offsets: np.ndarray  # (G + 1,) graph g owns nodes offsets[g]:offsets[g+1]
    node_tags: np.ndarray  # (N,) tag index, in order of first appearance
    edges: np.ndarray  # (E, 2) global node indices, as listed (both directions)
    folds: list[tuple[np.ndarray, np.ndarray]]  # 10 x (train, test) graph indices


def parse_graphs(text: str, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tokens = iter(text.split("\n"))
    try:
        n_graphs = int(next(tokens))
        labels, tags, offsets, edges = [], [], [0], []
        label_ids: dict[str, int] = {}
        tag_ids: dict[str, int] = {}
        for _ in range(n_graphs):
            n_nodes, graph_label = next(tokens).split()[:2]
            labels.append(label_ids.setdefault(graph_label, len(label_ids)))
            start = offsets[-1]
            for node in range(int(n_nodes)):
                fields = next(tokens).split()
                tags.append(tag_ids.setdefault(fields[0], len(tag_ids)))
                n_neighbours = int(fields[1])
                neighbours = fields[2 : 2 + n_neighbours]
                if len(neighbours) != n_neighbours:
                    raise ValueError(f"node {node} lists {len(neighbours)} of {n_neighbours} neighbours")
                edges.extend((start + node, start + int(nbr)) for nbr in neighbours)
            offsets.append(start + int(n_nodes))
    except (StopIteration, ValueError, IndexError) as exc:
        raise DataError(f"{label}: malformed GIN graph file ({exc or 'ends early'}).") from exc
    edge_array = np.array(edges, dtype=np.int64).reshape(-1, 2)
    if edge_array.size and edge_array.max() >= offsets[-1]:
        raise DataError(f"{label}: a neighbour index points outside its graph.")
    return (np.array(labels, dtype=np.int64), np.array(offsets, dtype=np.int64),
            np.array(tags, dtype=np.int64), edge_array)


def read_graph_set(path: str | Path, name: str) -> GraphSet:
    """Read graph set ``name`` (e.g. ``MUTAG``) and its 10 folds from ``dataset.zip``."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            graph_file = f"dataset/{name}/{name}.txt"
            if graph_file not in members:
                available = sorted({m.split("/")[1] for m in members if m.count("/") >= 2})
                raise GraphSetAbsent(
                    f"{path} has no {graph_file}: graph set {name!r} is not in this data source "
                    f"(it has {', '.join(available)}). Remove {name} from the config's graph sets "
                    "or point data_mirror at a source that has it."
                )
            labels, offsets, tags, edges = parse_graphs(archive.read(graph_file).decode(), f"{path}:{graph_file}")
            folds = []
            for k in range(1, N_FOLDS + 1):
                pair = []
                for part in ("train", "test"):
                    member = f"dataset/{name}/10fold_idx/{part}_idx-{k}.txt"
                    if member not in members:
                        raise DataError(f"{path} lacks {member}: the fixed GIN folds are incomplete.")
                    pair.append(np.array(archive.read(member).split(), dtype=np.int64))
                folds.append((pair[0], pair[1]))
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is not a readable zip ({exc}): delete it and download again.") from exc
    return GraphSet(name, labels, offsets, tags, edges, folds)


def to_arrays(graphs: GraphSet) -> dict[str, np.ndarray]:
    arrays = {
        "labels": graphs.labels,
        "node_offsets": graphs.node_offsets,
        "node_tags": graphs.node_tags,
        "edges": graphs.edges,
    }
    for k, (train, test) in enumerate(graphs.folds):
        arrays[f"fold{k}_train"] = train
        arrays[f"fold{k}_test"] = test
    return arrays
