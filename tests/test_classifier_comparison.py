"""Friedman rank, P90, P95 and PMA on a hand-made accuracy table."""

from __future__ import annotations

import pandas as pd
import pytest

from ntk_study.analysis.classifier_comparison import summary_table

# Three datasets, three classifiers; worked out by hand below.
ACCURACY = pd.DataFrame(
    {"ntk": [0.90, 0.80, 0.50], "rf": [0.85, 0.80, 0.60], "svm": [0.60, 0.70, 0.40]},
    index=["a", "b", "c"],
)


def test_summary_matches_hand_computation():
    table = summary_table(ACCURACY)
    # Ranks: a: ntk 1, rf 2, svm 3; b: ntk 1.5, rf 1.5, svm 3; c: rf 1, ntk 2, svm 3.
    assert table.loc["ntk", "friedman_rank"] == pytest.approx((1 + 1.5 + 2) / 3)
    assert table.loc["rf", "friedman_rank"] == pytest.approx((2 + 1.5 + 1) / 3)
    assert table.loc["svm", "friedman_rank"] == pytest.approx(3.0)
    # Best per dataset: 0.90, 0.80, 0.60. ntk ratios 1, 1, 0.8333; rf 0.9444, 1, 1; svm 0.6667, 0.875, 0.6667.
    assert table.loc["ntk", "p90"] == pytest.approx(2 / 3)
    assert table.loc["rf", "p95"] == pytest.approx(2 / 3)
    assert table.loc["rf", "p90"] == pytest.approx(1.0)
    assert table.loc["svm", "p90"] == pytest.approx(0.0)
    assert table.loc["ntk", "pma_mean"] == pytest.approx(100 * (1 + 1 + 0.5 / 0.6) / 3)
    assert table.loc["svm", "accuracy_mean"] == pytest.approx(1.7 / 3)


def test_an_outside_reference_lowers_the_shares_and_the_pma():
    """The published way: the best accuracy includes classifiers outside the table (here 0.95 on "a")."""
    from ntk_study.analysis.classifier_comparison import near_best_metrics

    reference = pd.Series({"a": 0.95, "b": 0.70})  # below the table's best on "b": no effect there
    table = near_best_metrics(ACCURACY, reference)
    # Best per dataset: 0.95, 0.80, 0.60. ntk ratios 0.947, 1, 0.833; rf 0.895, 1, 1.
    assert table.loc["ntk", "p90"] == pytest.approx(2 / 3) and table.loc["ntk", "p95"] == pytest.approx(1 / 3)
    assert table.loc["rf", "p90"] == pytest.approx(2 / 3)
    assert table.loc["ntk", "pma_mean"] == pytest.approx(100 * (0.90 / 0.95 + 1 + 0.5 / 0.6) / 3)


def test_standard_deviations_are_sample_ones_as_published():
    table = summary_table(ACCURACY)
    assert table.loc["svm", "accuracy_std"] == pytest.approx(ACCURACY["svm"].std(ddof=1))
