"""fig-imagenet-winners: the cited ILSVRC results (a data file, no computation)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.io import save_csv


def cited_table() -> pd.DataFrame:
    with resources.files("ntk_study.data").joinpath("ilsvrc_winners.csv").open() as handle:
        return pd.read_csv(handle, comment="#")


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    save_csv(out_dir / "winners.csv", cited_table())
