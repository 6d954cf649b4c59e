"""Seeded row caps that keep a dataset's published splits: quick runs follow the same protocol on
fewer rows (UCI samples, TU graphs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Split = tuple[np.ndarray, np.ndarray]  # (train, test) row indices


class CappedRows:
    """At most ``cap`` of ``n`` rows, a seeded subset drawn per (seed, dataset name) so that it does not
    depend on which other datasets run; ``restrict`` maps split indices to positions among the kept
    rows, dropping the others."""

    def __init__(self, n: int, cap: int | None, seed: int, name: str):
        self.kept = np.arange(n)
        if cap is not None and n > cap:
            rng = np.random.default_rng([seed, *name.encode()])
            self.kept = np.sort(rng.choice(n, size=cap, replace=False))
        self._position = np.full(n, -1)
        self._position[self.kept] = np.arange(len(self.kept))

    def restrict(self, split: Sequence[np.ndarray]) -> Split:
        train, test = (self._position[idx][self._position[idx] >= 0] for idx in split)
        return train, test
