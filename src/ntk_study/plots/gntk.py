"""tab-gntk: ours (published-style and nested selection) beside the published GNTK and GIN-0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.gntk import REFERENCE_SECONDS_PER_SETTING, comparison
from ntk_study.io import save_text
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = comparison(out_dir)
    table = table[table["not_run"].isna()].reset_index(drop=True)
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
    ax.set_ylim(max(0, np.nanmin(table[["ours_optimistic", "ours_nested", "published_gin0"]].to_numpy()) - 25), 100)
    ax.set_ylabel("10-fold accuracy (%)")
    ax.legend(fontsize=9, ncol=4, loc="upper right")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    write_table(out_dir)


def _selected(text: str) -> str:
    choice = json.loads(text)
    return f"{choice['setting'].replace('_', ', ')}, {choice['gram']}, C = {choice['C']:.3g}"


def write_table(out_dir: Path) -> None:
    table = comparison(out_dir)
    times = pd.read_csv(out_dir / "kernel_times.csv").groupby("dataset")
    lines = ["| graph set | graphs used | ours, published selection | its candidate (L, R, scaling, Gram, C) "
             "| ours, nested | published GNTK | GIN-0 | Gram seconds per setting, ours (mean / max) "
             "| reference code | speed-up |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        published = f"{row.published_gntk:.1f} ± {row.published_gntk_std:.1f} | {row.published_gin0:.1f}"
        if pd.notna(row.not_run):
            lines.append(f"| {row.dataset} | not run: the data source has no {row.dataset} | | | | {published} "
                         "| | | |")
            continue
        per_setting = times.get_group(row.dataset)["seconds_per_setting"]
        reference = REFERENCE_SECONDS_PER_SETTING.get(row.dataset, np.nan)
        nested = (f"{row.ours_nested:.1f} ± {row.ours_nested_std:.1f}" if pd.notna(row.ours_nested) else "not run")
        full = row.graphs == row.graphs_in_set
        speed = f"{reference / per_setting.mean():.0f}x" if full and np.isfinite(reference) else "(subset)"
        lines.append(f"| {row.dataset} | {row.graphs} of {row.graphs_in_set} | {row.ours_optimistic:.1f} ± "
                     f"{row.ours_optimistic_std:.1f} | {_selected(row.selected)} | {nested} | {published} "
                     f"| {per_setting.mean():.2f} / {per_setting.max():.2f} | {reference:.0f} | {speed} |")
    text = ("**Accuracy (%) over the 10 GIN folds, ours and published**, with the Gram matrices' cost: one "
            "sweep through the network yields every BLOCK count L of the grid for one (R, scaling), so a "
            "setting's seconds are the sweep's divided by its L values (both cores). The reference code's "
            "seconds are the fastest setting measured on this kind of machine (one graph pair at a time, a "
            "pool of 2 processes); the speed-up compares full sets only.\n\n" + "\n".join(lines) + "\n")
    save_text(out_dir / "table.md", text)
