"""Support vector machines: on a precomputed Gram matrix (NTK, GNTK) and the scikit-learn baselines."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.svm import SVC

from ntk_study.classifiers.protocol import FitScore


def _single_class(y: np.ndarray, train: np.ndarray, test: np.ndarray) -> float | None:
    """With one class among the training rows an SVC cannot fit: predict that class."""
    return float(np.mean(y[test] == y[train][0])) if len(np.unique(y[train])) < 2 else None


def precomputed_svm_accuracy(gram: np.ndarray, y: np.ndarray, c: float, train: np.ndarray,
                             test: np.ndarray) -> float:
    """Accuracy of an SVC with kernel ``gram`` (all rows x all rows), trained on ``train``."""
    if (constant := _single_class(y, train, test)) is not None:
        return constant
    model = SVC(kernel="precomputed", C=c)
    model.fit(gram[np.ix_(train, train)].astype(np.float64), y[train])
    return float(np.mean(model.predict(gram[np.ix_(test, train)].astype(np.float64)) == y[test]))


def precomputed_svm(grams: dict[str, np.ndarray], y: np.ndarray) -> FitScore:
    """FitScore over candidates {"kernel": key of ``grams``, "C": c}."""
    def fit_score(candidate: dict[str, Any], train: np.ndarray, test: np.ndarray) -> float:
        return precomputed_svm_accuracy(grams[candidate["kernel"]], y, candidate["C"], train, test)

    return fit_score


def feature_svm(x: np.ndarray, y: np.ndarray, kernel: str) -> FitScore:
    """Gaussian ("rbf", candidates C, gamma as a multiple of 1/d) or polynomial ("poly", C, degree) SVC."""
    def fit_score(candidate: dict[str, Any], train: np.ndarray, test: np.ndarray) -> float:
        if (constant := _single_class(y, train, test)) is not None:
            return constant
        options = dict(candidate)
        if "gamma" in options:
            options["gamma"] = options["gamma"] / x.shape[1]
        model = SVC(kernel=kernel, **options)
        model.fit(x[train], y[train])
        return float(np.mean(model.predict(x[test]) == y[test]))

    return fit_score


def random_forest(x: np.ndarray, y: np.ndarray, n_trees: int, seed: int) -> FitScore:
    """Random forest with candidates {"max_features": fraction of features tried per split}."""
    def fit_score(candidate: dict[str, Any], train: np.ndarray, test: np.ndarray) -> float:
        model = RandomForestClassifier(n_estimators=n_trees, max_features=candidate["max_features"],
                                       random_state=seed)
        model.fit(x[train], y[train])
        return float(np.mean(model.predict(x[test]) == y[test]))

    return fit_score
