"""Shared plotting style and an atomic figure writer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ntk_study.io import atomic_path  # noqa: E402


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.2)


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    """Write ``fig`` to ``path`` (format from its suffix) atomically and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), dpi=150, bbox_inches="tight")
    plt.close(fig)
