"""Support vector machines: on a precomputed Gram matrix (NTK, GNTK) and the scikit-learn baselines."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import SVC

from ntk_study.classifiers.protocol import FitScore


def _single_class(y: np.ndarray, train: np.ndarray, test: np.ndarray) -> float | None:
    """With one class among the training rows an SVC cannot fit: predict that class."""
    return float(np.mean(y[test] == y[train][0])) if len(np.unique(y[train])) < 2 else None


def _cache_mb(n_train: int) -> float:
    """libsvm's kernel cache (MB) holding every column of the training kernel (float32 entries), so
    no column is recomputed; the fit itself does not depend on it."""
    return max(200.0, 4 * n_train**2 / 2**20 + 1)


def precomputed_svm_scores(gram: np.ndarray, y: np.ndarray, cs: Sequence[float], train: np.ndarray,
                           test: np.ndarray, max_iter: int = -1) -> list[float]:
    """Accuracy on ``test`` of an SVC with kernel ``gram`` (all rows x all rows), trained on ``train``,
    for each C in ``cs``: the kernel is sliced once for all of them (float64, as the fits need).
    ``max_iter`` > 0 caps libsvm's iterations, as the GNTK reference's search does (the fit keeps
    its solution at the cap; scikit-learn's ConvergenceWarning is silenced)."""
    if (constant := _single_class(y, train, test)) is not None:
        return [constant] * len(cs)
    train_gram = np.ascontiguousarray(gram[np.ix_(train, train)], dtype=np.float64)
    test_gram = np.ascontiguousarray(gram[np.ix_(test, train)], dtype=np.float64)
    scores = []
    for c in cs:
        model = SVC(kernel="precomputed", C=c, cache_size=_cache_mb(len(train)), max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(train_gram, y[train])
        scores.append(float(np.mean(model.predict(test_gram) == y[test])))
    return scores


def precomputed_svm_accuracy(gram: np.ndarray, y: np.ndarray, c: float, train: np.ndarray,
                             test: np.ndarray) -> float:
    """Accuracy of an SVC with kernel ``gram`` (all rows x all rows), trained on ``train``."""
    return precomputed_svm_scores(gram, y, [c], train, test)[0]


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



def precomputed_svm_grid(gram: np.ndarray, y: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                         cs: Sequence[float], max_iter: int = -1) -> np.ndarray:
    """Accuracies (C, split) of ``precomputed_svm_scores`` on every (train, test) split."""
    return np.array([precomputed_svm_scores(gram, y, cs, train, test, max_iter) for train, test in splits]).T
