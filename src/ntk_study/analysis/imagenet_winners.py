"""fig-imagenet-winners: the winning error falls every year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, exact


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    table = pd.read_csv(out_dir / "winners.csv").sort_values("year")
    changes = np.diff(table["top5_error_percent"].to_numpy())
    first, last = table.iloc[0], table.iloc[-1]
    smallest_drop = int(np.argmax(changes))
    return [exact("fig-imagenet-winners", "error-falls", float(changes.max()), holds=bool((changes < 0).all()),
                  scale=scale,
                  details=(f"{first.top5_error_percent:g}% ({first.year}) to {last.top5_error_percent:g}% "
                           f"({last.year}); the smallest drop is {-changes.max():.2f} points "
                           f"({table['year'].iloc[smallest_drop]} to {table['year'].iloc[smallest_drop + 1]})"))]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: none (a cited data file)."""
    return 1.0
