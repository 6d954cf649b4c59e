"""Small statistics shared by the claim checks."""

from __future__ import annotations

import numpy as np
import pandas as pd


def loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a log-log slope needs at least two positive points")
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope)


def slopes_per_replicate(frame: pd.DataFrame, x: str, y: str, replicate: list[str]) -> pd.Series:
    """The log-log slope of ``y`` against ``x`` fitted within each replicate (the rows sharing the
    ``replicate`` columns: e.g. one seed's sweep over the widths), one value per replicate."""
    return frame.groupby(replicate).apply(lambda rows: loglog_slope(rows[x], rows[y]), include_groups=False)
