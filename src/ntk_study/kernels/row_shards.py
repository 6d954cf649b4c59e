"""Row shards of a kernel matrix too large for one job: [training; test] rows against training
columns, split into blocks of about equal work. numpy only, so the workflow and the config check
can use it without loading JAX."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RowShard:
    """Rows ``start:stop`` of [training; test] images against training columns ``first_column:``."""

    start: int
    stop: int
    first_column: int

    def is_training(self, n_train: int) -> bool:
        return self.start < n_train


def shard_rows(n_train: int, n_test: int, shards: int) -> list[RowShard]:
    """Split the rows into exactly ``shards`` blocks of about equal work (kernel entries computed).

    A training row i needs columns i..n_train-1 only (the matrix is symmetric), a test row all
    n_train, so training shards hold more rows towards the end. At least one shard is test rows.
    Raises ValueError when there are more shards than rows.
    """
    if shards < 2 or n_test < 1 or shards > n_train + n_test:
        raise ValueError(f"{shards} shards for {n_train} training and {n_test} test rows: need at least 2 "
                         "shards, at least 1 test row and no more shards than rows; change the shard count")
    train_work, test_work = n_train * (n_train + 1) / 2, n_test * n_train
    train_shards = int(np.clip(round(shards * train_work / (train_work + test_work)),
                               max(1, shards - n_test), min(shards - 1, n_train)))
    test_shards = shards - train_shards
    # Work of training rows 0..a-1 is a n - a (a - 1) / 2; invert it at equal steps of the total,
    # then keep every shard at least one row wide.
    work_steps = train_work * np.arange(train_shards + 1) / train_shards
    bounds = np.round(n_train + 0.5 - np.sqrt(np.maximum((n_train + 0.5) ** 2 - 2 * work_steps, 0))).astype(int)
    steps = np.arange(train_shards + 1)
    bounds = np.clip(np.maximum.accumulate(np.maximum(bounds, steps)), 0, n_train - train_shards + steps)
    test_bounds = n_train + np.round(np.linspace(0, n_test, test_shards + 1)).astype(int)
    return ([RowShard(int(a), int(b), int(a)) for a, b in zip(bounds[:-1], bounds[1:])]
            + [RowShard(int(a), int(b), 0) for a, b in zip(test_bounds[:-1], test_bounds[1:])])
