"""tab-uci's NTK protocol: the search order and tie rule of Arora et al.'s (2020) UCI code, and the SVM
scores over a C grid."""

from __future__ import annotations

import numpy as np

from ntk_study.classifiers.kernel_svm import precomputed_svm_accuracy, precomputed_svm_scores
from ntk_study.classifiers.protocol import first_best
from ntk_study.experiments.uci import ntk_candidates


def test_ntk_grid_order_and_ties_follow_the_reference_code():
    """Candidates run hidden layers, then fixed layers, then C (ascending even if the config is
    not), and a tie goes to the first, as the reference's ``if acc > best_acc`` loop decides."""
    candidates = ntk_candidates(2, [100, 1, 10])
    assert [(c["hidden_layers"], c["fixed"], c["C"]) for c in candidates[:4]] == [(0, 0, 1), (0, 0, 10), (0, 0, 100),
                                                                                    (1, 0, 1)]
    assert len(candidates) == 6 * 3 and candidates[-1] == {"hidden_layers": 2, "fixed": 2, "C": 100}
    # A constructed tie: (1 hidden, 1 fixed, C=10), (2, 0, 1) and (2, 2, 100) share the best accuracy.
    tied = {(1, 1, 10), (2, 0, 1), (2, 2, 100)}
    scores = [0.9 if (c["hidden_layers"], c["fixed"], c["C"]) in tied else 0.5 for c in candidates]
    assert candidates[first_best(scores)] == {"hidden_layers": 1, "fixed": 1, "C": 10}
    # The reference's scan, written out, agrees on random scores with many ties.
    rng = np.random.default_rng(0)
    for _ in range(200):
        scores = list(rng.integers(0, 4, size=len(candidates)) / 4)
        best_acc, best_index = 0.0, None
        for index, acc in enumerate(scores):
            if acc > best_acc:
                best_acc, best_index = acc, index
        if best_index is not None:
            assert first_best(scores) == best_index


def test_svm_scores_over_c_slice_once_and_match_single_fits():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, size=120)
    x = 3 * rng.normal(size=(3, 5))[y] + rng.normal(size=(120, 5))
    gram = x @ x.T
    train, test = np.arange(70), np.arange(70, 120)
    assert precomputed_svm_scores(gram, y, [0.01, 1.0, 100.0], train, test) == [
        precomputed_svm_accuracy(gram, y, c, train, test) for c in (0.01, 1.0, 100.0)]
