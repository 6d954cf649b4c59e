"""fig-imagenet-winners: top-5 error of the winning entry by year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = pd.read_csv(out_dir / "winners.csv")
    apply_style()
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    bars = ax.bar(table["year"].astype(str), table["top5_error_percent"], color="C0")
    for bar, (error, entry) in zip(bars, zip(table["top5_error_percent"], table["entry"])):
        ax.annotate(f"{error:g}%\n{entry}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, table["top5_error_percent"].max() * 1.25)
    ax.set_xlabel("year")
    ax.set_ylabel("top-5 error of the winner (%)")
    ax.set_title("ILSVRC classification (cited values)")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
