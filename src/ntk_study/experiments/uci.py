"""tab-uci (Arora et al. 2020, Table 1): the NTK SVM against five classifiers on the 90 UCI tasks.

One stage, ``compute``: for each task and classifier, the published protocol -- hyperparameters
chosen on the ``conxuntos.dat`` split, accuracy averaged over the 4 ``conxuntos_kfold.dat`` folds --
one row per (task, classifier) in ``accuracies.csv``.

The NTK column follows the reference code (github.com/LeoYu/neural-tangent-kernel-UCI): the NTK of
a ReLU net with 0..``max_hidden_layers`` hidden layers and 0..(hidden layers) bottom layers fixed,
at the scale of that code (``reference_scale``), an SVC on the precomputed float64 kernel for each
C, the first strictly best candidate in the order (hidden layers, fixed layers, C) winning. The
kernels are computed here, per task, rather than stored: all 90 uncapped tasks hold 2.2e8 kernel
entries per (depth, fixed) pair, 26 GB for the 15 pairs in float64, and float32 storage can flip a
selection; the kernels take a few percent of the SVM grid's time.

Tasks and classifiers run in parallel worker processes (one per thread of the rule), the largest
tasks first, so that the long SVM fits of the big tasks overlap with the many small tasks. At the
published setting the rule takes hours on a workstation, so each finished (task, classifier) row is
kept under ``resume/`` in the results folder and reused by a run started again (``ntk_study.resume``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
import sklearn
from jax.experimental import enable_x64

from ntk_study import resume
from ntk_study.analysis.uci import CLASSIFIERS
from ntk_study.classifiers import finite_mlp, kernel_svm, protocol
from ntk_study.classifiers.finite_mlp import mlp_classifier
from ntk_study.classifiers.kernel_svm import feature_svm, precomputed_svm_scores, random_forest
from ntk_study.classifiers.protocol import FitScore, Selection, expand_grid, first_best, select_then_evaluate
from ntk_study.data.uci_benchmark import UciTask, load_tasks
from ntk_study.io import save_csv
from ntk_study.job_threads import job_threads
from ntk_study.kernels import fully_connected
from ntk_study.kernels.fully_connected import depth_fixed_pairs, fully_connected_ntk_chain, reference_scale
from ntk_study.resume import ResumePoints

# A unit is one row: (task, classifier, settings, seed, folder of resume pieces or None).
Unit = tuple[UciTask, str, dict[str, Any], int, Path | None]


def ntk_candidates(max_hidden_layers: int, cs: Sequence[float]) -> list[dict[str, Any]]:
    """The reference's search order: hidden layers, then fixed layers, then C, each ascending."""
    return [{"hidden_layers": depth, "fixed": fixed, "C": c}
            for depth, fixed in depth_fixed_pairs(max_hidden_layers) for c in sorted(cs)]


def reference_ntk_chain(x: np.ndarray, max_hidden_layers: int, fixed: int) -> np.ndarray:
    """float64 NTKs for hidden layers fixed..max_hidden_layers with ``fixed`` layers fixed, at the
    reference code's scale: shape (max_hidden_layers - fixed + 1, n, n)."""
    with enable_x64():
        chain = fully_connected_ntk_chain(np.asarray(x, dtype=np.float64), max_hidden_layers, fixed)
    for depth, gram in zip(range(fixed, max_hidden_layers + 1), chain):
        gram *= reference_scale(x.shape[1], depth)
    return chain


def ntk_selection(task: UciTask, max_hidden_layers: int, cs: Sequence[float]) -> Selection:
    """The reference protocol: every (hidden layers, fixed, C) on the validation split, the first
    strictly best one on the 4 folds. One kernel chain in memory at a time (5 n x n for fixed = 0)."""
    cs = sorted(cs)
    scores: dict[tuple[int, int], list[float]] = {}
    for fixed in range(max_hidden_layers + 1):
        chain = reference_ntk_chain(task.x, max_hidden_layers, fixed)
        for depth, gram in zip(range(fixed, max_hidden_layers + 1), chain):
            scores[depth, fixed] = precomputed_svm_scores(gram, task.y, cs, *task.validation)
        del chain, gram  # before the next chain is computed
    candidates = ntk_candidates(max_hidden_layers, cs)
    flat = [scores[c["hidden_layers"], c["fixed"]][cs.index(c["C"])] for c in candidates]
    best = candidates[first_best(flat)]
    # Recomputing the chosen kernel costs less than keeping all 15 (3 GB at 5,000 rows).
    gram = reference_ntk_chain(task.x, max_hidden_layers, best["fixed"])[best["hidden_layers"] - best["fixed"]]
    tests = [precomputed_svm_scores(gram, task.y, [best["C"]], *fold)[0] for fold in task.folds]
    return Selection(best, max(flat), tests)


def _baseline(name: str, task: UciTask, settings: dict[str, Any], seed: int) -> tuple[FitScore, list[dict[str, Any]]]:
    """The fit-score function and candidate grid of a baseline classifier."""
    if name.startswith("NN"):
        nn = settings["nn"]
        init = "he" if name == "NN (He init)" else "ntk"
        fit_score = mlp_classifier(task.x, task.y, task.n_classes, init, width=nn["width"], steps=nn["steps"],
                                   seed=seed, name=task.name)
        return fit_score, expand_grid(depth=nn["depths"], learning_rate=nn["learning_rates"])
    if name == "RF":
        forest = settings["random_forest"]
        return (random_forest(task.x, task.y, forest["trees"], seed),
                expand_grid(max_features=forest["max_features"]))
    if name == "Gaussian kernel":
        gaussian = settings["gaussian_svm"]
        return feature_svm(task.x, task.y, "rbf"), expand_grid(C=gaussian["C"], gamma=gaussian["gamma"])
    polynomial = settings["polynomial_svm"]
    return (feature_svm(task.x, task.y, "poly"),
            expand_grid(C=polynomial["C"], degree=polynomial["degree"], coef0=[1.0]))


def run_classifier(task: UciTask, name: str, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """One row of accuracies.csv: classifier ``name`` on ``task`` under the published protocol."""
    began, began_cpu = time.perf_counter(), time.process_time()
    if name == "NTK":
        ntk = settings["ntk"]
        result = ntk_selection(task, ntk["max_hidden_layers"], ntk["C"])
        candidates = len(ntk_candidates(ntk["max_hidden_layers"], ntk["C"]))
    else:
        fit_score, grid = _baseline(name, task, settings, seed)
        result = select_then_evaluate(fit_score, grid, task.validation, task.folds)
        candidates = len(grid)
    return {
        "dataset": task.name, "classifier": name, "accuracy": result.accuracy,
        **{f"fold{k}": acc for k, acc in enumerate(result.test_accuracies)},
        "validation_accuracy": result.selection_accuracy,
        "hyperparameters": json.dumps(result.best, sort_keys=True),
        "samples": task.n_samples, "rows_used": len(task.y), "features": task.x.shape[1],
        "classes": task.n_classes, "candidates": candidates,
        "seconds": round(time.perf_counter() - began, 3),
        "cpu_seconds": round(time.process_time() - began_cpu, 3),
    }


def _row_fingerprint(task: UciTask, name: str, settings: dict[str, Any], seed: int) -> str:
    """Everything a row comes from: the task's data and splits, the classifier's settings, the seed,
    the code that computes it and the libraries' versions."""
    own = {"NTK": "ntk", "RF": "random_forest", "Gaussian kernel": "gaussian_svm",
           "Polynomial kernel": "polynomial_svm"}.get(name, "nn")
    splits = [part for split in [task.validation, *task.folds] for part in split]
    return resume.fingerprint(resume.source_fingerprint(fully_connected, kernel_svm, finite_mlp, protocol),
                              Path(__file__).read_text(), sklearn.__version__, jax.__version__, task.name, task.x,
                              task.y, *splits, name, settings[own], seed)


def _run_unit(unit: Unit) -> dict[str, Any]:
    task, name, settings, seed, folder = unit
    points, piece = ResumePoints(folder), f"rows/{task.name}/{name}"
    key = _row_fingerprint(task, name, settings, seed) if folder is not None else ""
    stored, resumed = points.reuse_or_run(piece, key, lambda: {"row": np.array(json.dumps(
        run_classifier(task, name, settings, seed), default=lambda value: value.item()))})
    row = {**json.loads(str(stored["row"])), "resumed": resumed}  # a reused row keeps its first run's seconds
    if not resumed:
        print(row["dataset"], row["classifier"], round(row["accuracy"], 4), row["hyperparameters"],
              f"{row['seconds']} s, {row['cpu_seconds']} CPU-s", flush=True)
    return row


def run_units(units: list[Unit], workers: int) -> list[dict[str, Any]]:
    """Rows of every unit, in the units' order; with several workers, in spawned processes (JAX is
    not fork-safe) fed in that order."""
    if workers <= 1:
        return [_run_unit(unit) for unit in units]
    # On a GPU node the workers share the device: none may preallocate most of its memory.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_run_unit, units))


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    tasks = load_tasks(prepared["uci121"], settings["max_samples"], seed, settings["datasets"])
    names = settings.get("classifiers") or CLASSIFIERS  # null: all six
    # Largest tasks first (their SVM grids take longest), so that no long job starts last.
    units = [(task, name, settings, seed, out_dir / resume.FOLDER)
             for task in sorted(tasks, key=lambda t: -len(t.y)) for name in names]
    rows = run_units(units, job_threads())
    position = {task.name: k for k, task in enumerate(tasks)}
    rows.sort(key=lambda row: (position[row["dataset"]], names.index(row["classifier"])))
    save_csv(out_dir / "accuracies.csv", pd.DataFrame(rows))
