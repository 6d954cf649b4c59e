"""Comparison metrics of classifiers over many datasets (Fernández-Delgado et al. 2014;
Arora et al. 2020, Table 1), from a table of accuracies with one row per dataset and one
column per classifier.

P90 / P95 / PMA compare each classifier with the best accuracy on each dataset. Published, that
best is over every classifier of the comparison (Fernández-Delgado et al.'s 179 and Arora et al.'s
own); ``reference`` adds such outside per-dataset bests to the classifiers of the table. Standard
deviations are sample ones (ddof 1), as in the published table (Fernández-Delgado et al.'s rf_caret
on Arora et al.'s 90 datasets gives their RF row, 81.56% +- 13.90%, only with ddof 1).
"""

from __future__ import annotations

import pandas as pd


def friedman_ranks(accuracy: pd.DataFrame) -> pd.Series:
    """Average rank of each classifier over datasets (1 = best; ties get their mean rank)."""
    return accuracy.rank(axis=1, ascending=False, method="average").mean(axis=0)


def best_accuracy(accuracy: pd.DataFrame, reference: pd.Series | None = None) -> pd.Series:
    """Per dataset, the best accuracy of the table's classifiers and of ``reference`` where given."""
    best = accuracy.max(axis=1)
    return best if reference is None else pd.concat([best, reference.reindex(best.index)], axis=1).max(axis=1)


def share_near_best(accuracy: pd.DataFrame, fraction: float, best: pd.Series) -> pd.Series:
    """P90 / P95: share of datasets on which a classifier reaches ``fraction`` of the best accuracy."""
    return accuracy.ge(fraction * best, axis=0).mean(axis=0)


def percentage_of_maximum(accuracy: pd.DataFrame, best: pd.Series) -> pd.DataFrame:
    """PMA: mean and std over datasets of 100 x accuracy / best accuracy on that dataset."""
    ratios = 100 * accuracy.div(best, axis=0)
    return pd.DataFrame({"pma_mean": ratios.mean(axis=0), "pma_std": ratios.std(axis=0)})


def near_best_metrics(accuracy: pd.DataFrame, reference: pd.Series | None = None) -> pd.DataFrame:
    """P90, P95 (shares) and PMA +- std against ``best_accuracy(accuracy, reference)``."""
    best = best_accuracy(accuracy, reference)
    table = pd.DataFrame({"p90": share_near_best(accuracy, 0.90, best), "p95": share_near_best(accuracy, 0.95, best)})
    return table.join(percentage_of_maximum(accuracy, best))


def summary_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The lecture's table among the classifiers of ``accuracy``: Friedman rank, average accuracy
    +- std, P90, P95, PMA +- std."""
    table = pd.DataFrame({
        "friedman_rank": friedman_ranks(accuracy),
        "accuracy_mean": accuracy.mean(axis=0),
        "accuracy_std": accuracy.std(axis=0),
    })
    return table.join(near_best_metrics(accuracy))
