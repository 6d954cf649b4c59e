"""tab-uci (Arora et al. 2020, Table 1): the NTK SVM against five classifiers on the 90 UCI tasks.

Two stages. ``kernels`` writes the fully-connected ReLU NTK of every task for every depth and
number of fixed bottom layers (``kernels.npz``, float32, key ``<task>/L<depth>_f<fixed>``).
``compute`` runs the published protocol for each classifier -- hyperparameters chosen on the
``conxuntos.dat`` split, accuracy averaged over the 4 ``conxuntos_kfold.dat`` folds -- and writes
one row per (task, classifier) to ``accuracies.csv``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.classifiers.finite_mlp import mlp_classifier
from ntk_study.classifiers.kernel_svm import feature_svm, precomputed_svm, random_forest
from ntk_study.classifiers.protocol import FitScore, expand_grid, select_then_evaluate
from ntk_study.data.uci_benchmark import UciTask, load_tasks
from ntk_study.io import npz_writer, save_csv
from ntk_study.kernels.fully_connected import depth_fixed_pairs, fully_connected_ntk_table
from ntk_study.kernels.precision import enable_float64


def kernel_name(depth: int, fixed: int) -> str:
    return f"L{depth}_f{fixed}"


def kernel_key(task: str, depth: int, fixed: int) -> str:
    return f"{task}/{kernel_name(depth, fixed)}"


def _tasks(settings: dict[str, Any], seed: int, prepared: dict[str, Path]) -> list[UciTask]:
    return load_tasks(prepared["uci121"], settings["max_samples"], seed, settings["datasets"])


def kernels(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    enable_float64()
    max_depth = settings["ntk"]["max_depth"]
    timings = []
    with npz_writer(out_dir / "kernels.npz") as put:
        for task in _tasks(settings, seed, prepared):
            began = time.perf_counter()
            table = fully_connected_ntk_table(task.x, max_depth)
            for gram, (depth, fixed) in zip(table, depth_fixed_pairs(max_depth)):
                put(kernel_key(task.name, depth, fixed), gram.astype(np.float32))
            timings.append({"dataset": task.name, "rows": len(task.y), "kernels": len(table),
                            "seconds": round(time.perf_counter() - began, 3)})
    save_csv(out_dir / "kernel_times.csv", pd.DataFrame(timings))


def _classifiers(task: UciTask, grams: dict[str, np.ndarray], settings: dict[str, Any],
                 seed: int) -> dict[str, tuple[FitScore, list[dict[str, Any]]]]:
    nn, forest = settings["nn"], settings["random_forest"]
    gaussian, polynomial = settings["gaussian_svm"], settings["polynomial_svm"]
    nn_grid = expand_grid(depth=nn["depths"], learning_rate=nn["learning_rates"])

    def mlp(init: str) -> FitScore:
        return mlp_classifier(task.x, task.y, task.n_classes, init, width=nn["width"], steps=nn["steps"],
                              seed=seed, name=task.name)

    return {
        "NTK": (precomputed_svm(grams, task.y), expand_grid(kernel=list(grams), C=settings["ntk"]["C"])),
        "NN (He init)": (mlp("he"), nn_grid),
        "NN (NTK init)": (mlp("ntk"), nn_grid),
        "RF": (random_forest(task.x, task.y, forest["trees"], seed),
               expand_grid(max_features=forest["max_features"])),
        "Gaussian kernel": (feature_svm(task.x, task.y, "rbf"), expand_grid(C=gaussian["C"], gamma=gaussian["gamma"])),
        "Polynomial kernel": (feature_svm(task.x, task.y, "poly"),
                              expand_grid(C=polynomial["C"], degree=polynomial["degree"], coef0=[1.0])),
    }


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    tasks = _tasks(settings, seed, prepared)
    pairs = depth_fixed_pairs(settings["ntk"]["max_depth"])
    rows = []
    with np.load(out_dir / "kernels.npz") as stored:
        for task in tasks:
            grams = {kernel_name(depth, fixed): stored[kernel_key(task.name, depth, fixed)] for depth, fixed in pairs}
            for name, (fit_score, grid) in _classifiers(task, grams, settings, seed).items():
                began = time.perf_counter()
                result = select_then_evaluate(fit_score, grid, task.validation, task.folds)
                rows.append({
                    "dataset": task.name, "classifier": name, "accuracy": result.accuracy,
                    **{f"fold{k}": acc for k, acc in enumerate(result.test_accuracies)},
                    "validation_accuracy": result.selection_accuracy,
                    "hyperparameters": json.dumps(result.best, sort_keys=True),
                    "samples": task.n_samples, "rows_used": len(task.y), "features": task.x.shape[1],
                    "classes": task.n_classes, "candidates": len(grid),
                    "seconds": round(time.perf_counter() - began, 3),
                })
            print(task.name, {r["classifier"]: round(r["accuracy"], 3) for r in rows[-6:]}, flush=True)
    save_csv(out_dir / "accuracies.csv", pd.DataFrame(rows))
