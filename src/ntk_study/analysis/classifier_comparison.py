"""Comparison metrics of classifiers over many datasets (Fernández-Delgado et al. 2014;
Arora et al. 2020, Table 1), from a table of accuracies with one row per dataset and one
column per classifier."""

from __future__ import annotations

import pandas as pd


def friedman_ranks(accuracy: pd.DataFrame) -> pd.Series:
    """Average rank of each classifier over datasets (1 = best; ties get their mean rank)."""
    return accuracy.rank(axis=1, ascending=False, method="average").mean(axis=0)


def share_near_best(accuracy: pd.DataFrame, fraction: float) -> pd.Series:
    """P90 / P95: share of datasets on which a classifier reaches ``fraction`` of the best accuracy."""
    best = accuracy.max(axis=1)
    return accuracy.ge(fraction * best, axis=0).mean(axis=0)


def percentage_of_maximum(accuracy: pd.DataFrame) -> pd.DataFrame:
    """PMA: mean and std over datasets of 100 x accuracy / best accuracy on that dataset."""
    ratios = 100 * accuracy.div(accuracy.max(axis=1), axis=0)
    return pd.DataFrame({"pma_mean": ratios.mean(axis=0), "pma_std": ratios.std(axis=0, ddof=0)})


def summary_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The lecture's table: Friedman rank, average accuracy +- std, P90, P95, PMA +- std."""
    table = pd.DataFrame({
        "friedman_rank": friedman_ranks(accuracy),
        "accuracy_mean": accuracy.mean(axis=0),
        "accuracy_std": accuracy.std(axis=0, ddof=0),
        "p90": share_near_best(accuracy, 0.90),
        "p95": share_near_best(accuracy, 0.95),
    })
    return table.join(percentage_of_maximum(accuracy))
