"""The kernel tables' protocols and baselines on real data from the mirror and on toy problems."""

from __future__ import annotations

import numpy as np
import pytest

from ntk_study.classifiers.finite_mlp import mlp_classifier
from ntk_study.classifiers.kernel_svm import precomputed_svm_accuracy
from ntk_study.classifiers.protocol import expand_grid, select_then_evaluate
from ntk_study.experiments.cntk import kernel_regression_accuracy, targets
from ntk_study.experiments.gntk import _inner_splits, prepared_gram


def test_selection_uses_only_the_selection_split():
    # candidate "a" is best on the selection split, "b" on the evaluation splits: "a" must be chosen
    scores = {("a", "sel"): 0.9, ("b", "sel"): 0.5, ("a", "ev"): 0.6, ("b", "ev"): 1.0}

    def fit_score(candidate, train, test):
        return scores[candidate["name"], "sel" if test[0] == 0 else "ev"]

    result = select_then_evaluate(fit_score, [{"name": "a"}, {"name": "b"}], (np.array([1]), np.array([0])),
                                  [(np.array([0]), np.array([1]))] * 4)
    assert result.best == {"name": "a"} and result.accuracy == pytest.approx(0.6)


def test_expand_grid_orders_last_axis_fastest():
    assert expand_grid(a=[1, 2], b=["x", "y"]) == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"},
                                                  {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]


def _blobs(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centres = 3 * rng.normal(size=(3, d))
    return centres[y] + rng.normal(size=(n, d)), y


@pytest.mark.parametrize("init", ["he", "ntk"])
def test_finite_network_learns_separable_classes(init):
    x, y = _blobs()
    fit_score = mlp_classifier(x, y, 3, init, width=32, steps=100, seed=0, name="blobs")
    assert fit_score({"depth": 2, "learning_rate": 0.01}, np.arange(80), np.arange(80, 120)) > 0.9


def test_precomputed_svm_on_a_linear_kernel_matches_separable_data():
    x, y = _blobs(seed=1)
    assert precomputed_svm_accuracy(x @ x.T, y, 10.0, np.arange(80), np.arange(80, 120)) > 0.9


def test_kernel_regression_interpolates_its_training_set():
    x, y = _blobs(n=30, d=40, seed=2)
    gram = x @ x.T  # full rank: no ridge reproduces the 0.9 / -0.1 targets exactly
    assert kernel_regression_accuracy(gram, gram, y, y) == 1.0
    assert targets(np.array([2]))[0, 2] == pytest.approx(0.9) and targets(np.array([2]))[0, 0] == pytest.approx(-0.1)


def test_cosine_normalisation_has_unit_diagonal():
    x = np.random.default_rng(3).random(size=(6, 4))  # a GNTK Gram matrix has positive entries
    np.testing.assert_allclose(np.diag(prepared_gram(x @ x.T, "cosine")), 1.0)


def test_nested_inner_splits_never_touch_the_outer_test_fold(tmp_path):
    from ntk_study.data.graph_benchmark import GraphTask

    folds = [(np.setdiff1d(np.arange(50), np.arange(k * 5, k * 5 + 5)), np.arange(k * 5, k * 5 + 5)) for k in range(10)]
    task = GraphTask("toy", np.zeros(50), [], [], 50, folds)
    for outer in range(10):
        for train, test in _inner_splits(task, outer):
            assert not set(train) & set(folds[outer][1]) and not set(test) & set(folds[outer][1])
            assert not set(train) & set(test)


@pytest.fixture(scope="module")
def prepared(mirror, tmp_path_factory):
    from ntk_study.data.prepare import prepare_dataset

    out = tmp_path_factory.mktemp("prepared")
    prepare_dataset("uci121", mirror / "uci121", out / "uci121.npz")
    prepare_dataset("tu-IMDBBINARY", mirror / "tu", out / "tu-IMDBBINARY.npz")
    return out


def test_uci_benchmark_has_the_90_tasks_and_caps_rows(prepared):
    from ntk_study.data.uci_benchmark import load_tasks

    tasks = load_tasks(prepared / "uci121.npz", None, 0)
    assert len(tasks) == 90 and all(t.n_samples <= 5000 for t in tasks)
    capped = {t.name: t for t in load_tasks(prepared / "uci121.npz", 300, 0, ["abalone"])}["abalone"]
    assert len(capped.y) == 300 and capped.n_samples == 4177
    for train, test in [capped.validation, *capped.folds]:
        assert train.max() < 300 and not set(train) & set(test)


# The reference code (github.com/LeoYu/neural-tangent-kernel-UCI, UCI.py, run unchanged on the mirror's
# data): its selected (C, hidden layers, fixed layers), validation and 4-fold test accuracy. Run on all
# 66 sets of at most 1,000 rows, its selections and accuracies equalled ours on every one.
REFERENCE_SELECTIONS = {
    "breast-tissue": (10.0, 3, 1, 0.7547169811320755, 0.7019230769230769),
    "echocardiogram": (1.0, 2, 2, 0.8923076923076924, 0.8560606060606061),
    "glass": (10.0, 1, 0, 0.7383177570093458, 0.6839622641509434),
    "hepatitis": (10.0, 2, 2, 0.8051948051948052, 0.8205128205128205),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_SELECTIONS))
def test_uci_ntk_selection_equals_the_reference_codes(prepared, name):
    from ntk_study.data.uci_benchmark import load_tasks
    from ntk_study.experiments.uci import ntk_selection

    task = load_tasks(prepared / "uci121.npz", None, 0, [name])[0]
    selection = ntk_selection(task, 4, [0.01, 0.1, 1, 10, 100, 1000, 10000])
    c, hidden_layers, fixed, validation, test = REFERENCE_SELECTIONS[name]
    assert selection.best == {"C": c, "hidden_layers": hidden_layers, "fixed": fixed}
    assert selection.selection_accuracy == pytest.approx(validation, abs=1e-12)
    assert selection.accuracy == pytest.approx(test, abs=1e-12)


def test_an_interrupted_uci_run_resumes_its_finished_rows(prepared, tmp_path, monkeypatch):
    import pandas as pd

    from ntk_study.experiments import uci

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # units in this process, where the patch below applies
    settings = {"max_samples": 80, "datasets": ["iris", "zoo"], "classifiers": ["NTK", "RF"],
                "ntk": {"max_hidden_layers": 1, "C": [1.0, 10.0]},
                "random_forest": {"trees": 5, "max_features": [0.5]}}
    uci.compute(settings, 0, tmp_path, {"uci121": prepared / "uci121.npz"})
    first = pd.read_csv(tmp_path / "accuracies.csv")
    assert not first["resumed"].any()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished row was recomputed")

    monkeypatch.setattr(uci, "run_classifier", must_not_run)
    uci.compute(settings, 0, tmp_path, {"uci121": prepared / "uci121.npz"})
    again = pd.read_csv(tmp_path / "accuracies.csv")
    assert again["resumed"].all()
    pd.testing.assert_frame_equal(again.drop(columns="resumed"), first.drop(columns="resumed"))
    # another NTK grid recomputes the NTK rows only
    with pytest.raises(AssertionError, match="recomputed"):
        uci.compute({**settings, "ntk": {"max_hidden_layers": 1, "C": [1.0, 100.0]}}, 0, tmp_path,
                    {"uci121": prepared / "uci121.npz"})
    uci.compute({**settings, "classifiers": ["RF"]}, 0, tmp_path, {"uci121": prepared / "uci121.npz"})


def test_imdb_graphs_use_degree_features_and_capped_folds_stay_disjoint(prepared):
    from ntk_study.data.graph_benchmark import load_graph_task

    task = load_graph_task(prepared / "tu-IMDBBINARY.npz", "IMDBBINARY", 100, 0)
    assert len(task.labels) == 100 and task.n_graphs == 1000
    graph = 0
    degrees = np.zeros(len(task.features[graph]), dtype=int)
    np.add.at(degrees, task.edges[graph][:, 0], 1)
    # one-hot degree: nodes of equal degree share a feature column, different degrees do not
    columns = task.features[graph].argmax(axis=1)
    assert all((columns[u] == columns[v]) == (degrees[u] == degrees[v]) for u in range(len(degrees))
               for v in range(len(degrees)))
    tests = np.concatenate([test for _, test in task.folds])
    assert len(tests) == len(set(tests)) == 100


def test_published_baselines_are_fernandez_delgados_results_on_the_90_tasks(prepared):
    """The vendored per-dataset accuracies reproduce the published RF / Gaussian / polynomial rows
    (accuracy +- sample std over the 90 tasks; polynomial: missing results count as 0)."""
    from ntk_study.analysis.uci import PUBLISHED, fernandez_delgado
    from ntk_study.data.uci_benchmark import load_tasks

    names = [task.name for task in load_tasks(prepared / "uci121.npz", 10, 0)]
    published = fernandez_delgado().loc[names]
    for column, row, fill in (("rf_caret", "RF", None), ("svm_C", "Gaussian kernel", None),
                              ("svmPoly_caret", "Polynomial kernel", 0.0)):
        accuracy = published[column] if fill is None else published[column].fillna(fill)
        assert accuracy.mean() == pytest.approx(PUBLISHED.loc[row, "accuracy_mean"], abs=0.006)
        assert accuracy.std() == pytest.approx(PUBLISHED.loc[row, "accuracy_std"], abs=0.006)
    assert (published["best_of_179"] >= published[["rf_caret", "svm_C", "svmPoly_caret"]].max(axis=1)).all()


def test_uci_metrics_the_published_way_use_the_best_of_179_on_uncapped_datasets_only(tmp_path):
    import pandas as pd

    from ntk_study.analysis.uci import CLASSIFIERS, claims, fernandez_delgado, ours

    best = fernandez_delgado()["best_of_179"]  # abalone 67.4, iris 99.3 or so: the file's values
    rows = []
    for dataset, samples in (("abalone", 4177), ("iris", 150)):
        for k, name in enumerate(CLASSIFIERS):
            # NTK best of the six everywhere, 2 points under Fernández-Delgado et al.'s best on iris
            accuracy = (best[dataset] - 2 - k) / 100 if dataset == "iris" else 0.5 - k / 100
            rows.append({"dataset": dataset, "classifier": name, "accuracy": accuracy, "samples": samples,
                         "rows_used": 1000 if samples > 1000 else samples})
    pd.DataFrame(rows).to_csv(tmp_path / "accuracies.csv", index=False)
    table = ours(tmp_path)
    assert table.loc["NTK", "p90"] == 100 and table.loc["NTK", "pma_mean"] == pytest.approx(100)  # among the six
    # the published way, on iris only (abalone ran capped): NTK at (best - 2) / best of the 179's best
    assert table.loc["NTK", "pma_mean_179"] == pytest.approx(100 * (best["iris"] - 2) / best["iris"])
    assert table.loc["Polynomial kernel", "p95_179"] == 0 and table.loc["NTK", "p95_179"] == 100
    claim = claims(tmp_path, {}, "test")[0]
    # Against the re-run baselines, two data sets with NTK ahead by a constant would hold; against the
    # published ones only iris is uncapped: one data set, no spread, undecided.
    assert claim.verdict == "undecided" and "published" in claim.details and "at least 2 replicates" in claim.to_decide
    assert "the published way on 1 uncapped sets" in claim.details


def _uci_accuracies(tmp_path, lead, datasets: int = 12, seed: int = 0) -> None:
    """accuracies.csv rows (capped data sets) where NTK's accuracy is a baseline's plus ``lead(name,
    k)`` points, and the five baselines vary across data sets."""
    import pandas as pd

    from ntk_study.analysis.uci import CLASSIFIERS

    rng = np.random.default_rng(seed)
    rows = []
    for k in range(datasets):
        level = rng.uniform(60, 90)
        for name in CLASSIFIERS[1:]:
            rows.append({"dataset": f"set{k}", "classifier": name, "accuracy": (level - CLASSIFIERS.index(name)) / 100,
                         "samples": 5000, "rows_used": 1000, "candidates": 12 if name.startswith("NN") else 4})
        rows.append({"dataset": f"set{k}", "classifier": "NTK", "accuracy": (level - 1 + lead(k)) / 100,
                     "samples": 5000, "rows_used": 1000, "candidates": 90})
    pd.DataFrame(rows).to_csv(tmp_path / "accuracies.csv", index=False)


@pytest.mark.parametrize("lead, verdict, shown", [
    (lambda k: 2.0 + 0.5 * (k % 3), "holds", "NN (He init)"),  # ahead of the best baseline (NN He) by 2-3
    (lambda k: -3.0 + 0.5 * (k % 3), "fails", "NN (He init)"),  # behind it by 2-3, ahead of the rest
    (lambda k: (-1.0) ** k * 3.0, "undecided", "NN (He init)"),  # level with it, noisy
])
def test_uci_claim_is_decided_per_baseline_from_paired_data_sets(tmp_path, lead, verdict, shown):
    from ntk_study.analysis.uci import claims

    _uci_accuracies(tmp_path, lead)
    (row,) = claims(tmp_path, {}, "quick")
    assert row.verdict == verdict and row.replicates == "12" and f"shown: {shown}" in row.details
    assert "NTK chose among 90 candidates, the re-run baselines among 4-12" in row.details
    assert "among the six" in row.details  # every set capped: P90 / PMA among the six run here


@pytest.mark.parametrize("offset, verdict", [(3.0, "holds"), (-3.0, "fails")])
def test_uci_claim_compares_with_the_published_baselines_on_uncapped_sets(tmp_path, offset, verdict):
    """On data sets run on all their rows the NTK also meets Fernández-Delgado et al.'s published
    classifiers: an NTK below their RF fails the claim even when it beats every re-run baseline."""
    import pandas as pd

    from ntk_study.analysis.uci import claims, fernandez_delgado

    published = fernandez_delgado()
    names = [name for name in published.index if published.loc[name, "rf_caret"] < 95][:8]
    rows = []
    for k, name in enumerate(names):
        accuracies = published.loc[name, ["rf_caret", "svm_C", "svmPoly_caret"]]
        ntk = (accuracies.max() if offset > 0 else accuracies.min()) + offset + 0.1 * (k % 3)
        rows.append({"dataset": name, "classifier": "NTK", "accuracy": ntk / 100, "samples": 100, "rows_used": 100})
        rows.append({"dataset": name, "classifier": "RF", "accuracy": (ntk - 5 - 0.2 * (k % 2)) / 100,
                     "samples": 100, "rows_used": 100})
    pd.DataFrame(rows).to_csv(tmp_path / "accuracies.csv", index=False)
    (row,) = claims(tmp_path, {}, "quick")
    assert row.verdict == verdict and row.replicates == str(len(names))
    if verdict == "fails":
        assert "(published)" in row.details.split("shown: ")[1]


def test_uci_claim_is_not_testable_without_a_baseline(tmp_path):
    import pandas as pd

    from ntk_study.analysis.uci import claims

    _uci_accuracies(tmp_path, lambda k: 1.0)
    long = pd.read_csv(tmp_path / "accuracies.csv")
    long[long["classifier"] == "NTK"].to_csv(tmp_path / "accuracies.csv", index=False)
    assert claims(tmp_path, {}, "quick")[0].verdict == "not testable at this scale"
