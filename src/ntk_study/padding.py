"""Zero-padding of arrays to fixed row counts, so one compiled JAX program serves many sizes."""

from __future__ import annotations

import numpy as np


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """``x`` with zero rows appended up to ``rows`` rows (``x`` itself when it has that many)."""
    x = np.asarray(x)
    if len(x) == rows:
        return x
    return np.concatenate([x, np.zeros((rows - len(x), *x.shape[1:]), x.dtype)])
