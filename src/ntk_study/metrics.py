"""Small statistics shared by the claim checks."""

from __future__ import annotations

import numpy as np


def loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a log-log slope needs at least two positive points")
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope)
