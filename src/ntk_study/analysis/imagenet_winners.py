"""fig-imagenet-winners: the winning error falls every year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimResult, check


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    table = pd.read_csv(out_dir / "winners.csv").sort_values("year")
    changes = np.diff(table["top5_error_percent"].to_numpy())
    first, last = table.iloc[0], table.iloc[-1]
    return [check("fig-imagenet-winners", "error-falls", float(changes.max()),
                  threshold="every year-on-year change < 0", passed=bool((changes < 0).all()), scale=scale,
                  measured_text=(f"{first.top5_error_percent:g}% ({first.year}) to {last.top5_error_percent:g}% "
                                 f"({last.year}); largest yearly change {changes.max():+.2f} points"))]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: none (a cited data file)."""
    return 1.0
