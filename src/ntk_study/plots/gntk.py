"""tab-gntk: ours (published-style and nested selection) beside the published GNTK and GIN-0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.gntk import comparison
from ntk_study.io import save_text
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = comparison(out_dir)
    apply_style()
    fig, ax = plt.subplots(figsize=(12, 4.8))
    x = np.arange(len(table))
    bars = [("ours, published selection", "ours_optimistic", "ours_optimistic_std", "C0"),
            ("ours, nested selection", "ours_nested", "ours_nested_std", "C2"),
            ("published GNTK", "published_gntk", "published_gntk_std", "0.55"),
            ("published GIN-0", "published_gin0", None, "C3")]
    for k, (label, column, spread, color) in enumerate(bars):
        ax.bar(x + (k - 1.5) * 0.2, table[column], width=0.2, color=color, label=label,
               yerr=table[spread] if spread else None, capsize=3)
    ax.set_xticks(x, [f"{row.dataset}\n({row.graphs} of {row.graphs_in_set} graphs)" for row in table.itertuples()])
    ax.set_ylim(max(0, table[["ours_nested", "published_gin0"]].min().min() - 25), 100)
    ax.set_ylabel("10-fold accuracy (%)")
    ax.legend(fontsize=9, ncol=4, loc="upper right")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    write_table(out_dir)


def write_table(out_dir: Path) -> None:
    table = comparison(out_dir)
    times = pd.read_csv(out_dir / "kernel_times.csv").groupby("dataset")["seconds"].agg(["sum", "max"])
    lines = ["| graph set | graphs used | ours, published selection | ours, nested | published GNTK | GIN-0 "
             "| GNTK seconds (all settings / slowest pass) |", "|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        t = times.loc[row.dataset]
        lines.append(f"| {row.dataset} | {row.graphs} of {row.graphs_in_set} | {row.ours_optimistic:.1f} ± "
                     f"{row.ours_optimistic_std:.1f} | {row.ours_nested:.1f} ± {row.ours_nested_std:.1f} "
                     f"| {row.published_gntk:.1f} ± {row.published_gntk_std:.1f} | {row.published_gin0:.1f} "
                     f"| {t['sum']:.1f} / {t['max']:.1f} |")
    text = ("**Accuracy (%) over the 10 GIN folds, ours and published.** A pass computes the Gram "
            "matrices of every block count for one (layers per block, scaling).\n\n" + "\n".join(lines) + "\n")
    save_text(out_dir / "table.md", text)
