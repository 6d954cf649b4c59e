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
