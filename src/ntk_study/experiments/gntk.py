"""tab-gntk (Du et al. 2019a): GNTK + SVM on the graph benchmarks with the 10 GIN folds.

``kernels`` writes, per graph set, the GNTK Gram matrix of every (blocks L, layers per block R,
scaling) setting (``kernels.npz``, key ``<set>/L<L>_R<R>_<scale>``) and the seconds each pass
took (``kernel_times.csv``; one pass over the blocks gives every L for one R and scaling).
``compute`` runs the SVM on the cosine-normalised Gram matrices under two protocols:

* published (optimistic): the (setting, C) with the best mean accuracy over the 10 test folds,
  reported with those same folds' mean and std;
* nested: for each outer fold, (setting, C) chosen by an inner 3-fold split of its training
  graphs (the other nine GIN folds grouped in three), then scored on the outer test fold.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.classifiers.kernel_svm import precomputed_svm
from ntk_study.classifiers.protocol import expand_grid
from ntk_study.data.graph_benchmark import GraphTask, load_graph_task
from ntk_study.io import npz_writer, save_csv
from ntk_study.kernels.graph import gntk_grams
from ntk_study.kernels.precision import enable_float64

INNER_GROUPS = 3


def setting_key(blocks: int, layers: int, scale: str) -> str:
    return f"L{blocks}_R{layers}_{scale}"


def _tasks(settings: dict[str, Any], seed: int, prepared: dict[str, Path]) -> list[GraphTask]:
    return [load_graph_task(prepared[f"tu-{name}"], name, settings["max_graphs"], seed)
            for name in settings["datasets"]]


def kernels(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    timings = []
    with npz_writer(out_dir / "kernels.npz") as put:
        for task in _tasks(settings, seed, prepared):
            for scale in settings["scales"]:
                patterns = task.patterns(scale)
                for layers in settings["layers_per_block"]:
                    began = time.perf_counter()
                    grams = gntk_grams(task.features, patterns, max(settings["blocks"]), layers)
                    seconds = time.perf_counter() - began
                    for blocks in settings["blocks"]:
                        put(f"{task.name}/{setting_key(blocks, layers, scale)}", grams[blocks])
                    timings.append({"dataset": task.name, "graphs": len(task.labels), "scale": scale,
                                    "layers_per_block": layers, "blocks": ",".join(map(str, settings["blocks"])),
                                    "seconds": round(seconds, 3)})
                    print(timings[-1], flush=True)
    save_csv(out_dir / "kernel_times.csv", pd.DataFrame(timings))


def cosine_normalised(gram: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.diag(gram))
    return gram / np.outer(norms, norms)


def _inner_splits(task: GraphTask, outer: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three (train, test) splits of fold ``outer``'s training graphs, from the other nine test folds."""
    others = [k for k in range(len(task.folds)) if k != outer]
    groups = [np.concatenate([task.folds[k][1] for k in others[g::INNER_GROUPS]]) for g in range(INNER_GROUPS)]
    return [(np.concatenate([groups[h] for h in range(INNER_GROUPS) if h != g]), groups[g])
            for g in range(INNER_GROUPS)]


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    summary, grid_rows = [], []
    keys = [setting_key(b, r, s) for s in settings["scales"] for r in settings["layers_per_block"]
            for b in settings["blocks"]]
    with np.load(out_dir / "kernels.npz") as stored:
        for task in _tasks(settings, seed, prepared):
            grams = {key: cosine_normalised(stored[f"{task.name}/{key}"]) for key in keys}
            candidates = expand_grid(kernel=keys, C=settings["C"])
            fit_score = precomputed_svm(grams, task.labels)
            # Every candidate on every outer fold (the published selection reads this table).
            outer = np.array([[fit_score(c, *fold) for fold in task.folds] for c in candidates])
            for c, accs in zip(candidates, outer):
                grid_rows.append({"dataset": task.name, "setting": c["kernel"], "C": c["C"],
                                  "accuracy_mean": accs.mean(), "accuracy_std": accs.std()})
            best = int(np.argmax(outer.mean(axis=1)))
            summary.append(_row(task, "published (optimistic)", outer[best], [candidates[best]] * len(task.folds)))
            nested_accs, nested_choice = [], []
            for k, fold in enumerate(task.folds):
                inner = [np.mean([fit_score(c, *split) for split in _inner_splits(task, k)]) for c in candidates]
                choice = candidates[int(np.argmax(inner))]
                nested_choice.append(choice)
                nested_accs.append(fit_score(choice, *fold))
            summary.append(_row(task, "nested", np.array(nested_accs), nested_choice))
            print(summary[-2]["dataset"], summary[-2]["accuracy_mean"], summary[-1]["accuracy_mean"], flush=True)
    save_csv(out_dir / "accuracies.csv", pd.DataFrame(summary))
    save_csv(out_dir / "grid.csv", pd.DataFrame(grid_rows))


def _row(task: GraphTask, protocol: str, accuracies: np.ndarray, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"dataset": task.name, "protocol": protocol, "accuracy_mean": 100 * accuracies.mean(),
            "accuracy_std": 100 * accuracies.std(), "graphs": len(task.labels), "graphs_in_set": task.n_graphs,
            **{f"fold{k}": acc for k, acc in enumerate(accuracies)},
            "selected": json.dumps(choices if protocol == "nested" else choices[0], sort_keys=True)}


def time_one_gram(prepared: Path, name: str, blocks: int, layers: int, scale: str) -> dict[str, Any]:
    """Seconds for one full-size Gram matrix at one setting (for comparison with the reference code)."""
    enable_float64()
    task = load_graph_task(prepared, name, None, 0)
    patterns = task.patterns(scale)
    began = time.perf_counter()
    gntk_grams(task.features, patterns, blocks, layers)
    return {"dataset": name, "graphs": len(task.labels), "blocks": blocks, "layers_per_block": layers,
            "scale": scale, "seconds": round(time.perf_counter() - began, 2)}
