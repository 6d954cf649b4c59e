"""tab-uci: NTK against random forest per dataset, and the metric table beside the lecture's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.analysis.uci import PUBLISHED, PUBLISHED_SOURCE, accuracy_table, ours, uncapped_datasets
from ntk_study.io import save_text
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = accuracy_table(out_dir)
    apply_style()
    fig, (scatter_ax, bar_ax) = plt.subplots(1, 2, figsize=(14, 5.6))
    if {"NTK", "RF"} <= set(table.columns):
        _ntk_against_forest(scatter_ax, table)
    else:  # a run restricted to some classifiers (the config's "classifiers")
        scatter_ax.set_axis_off()
        scatter_ax.text(0.5, 0.5, "NTK or RF not run", ha="center", va="center")
    summary = ours(out_dir)
    positions = range(len(summary))
    bar_ax.barh([p + 0.2 for p in positions], summary["accuracy_mean"], height=0.4, label="ours (all re-run here)",
                color="C0")
    bar_ax.barh([p - 0.2 for p in positions], PUBLISHED.loc[summary.index, "accuracy_mean"], height=0.4,
                label="published (Arora et al. 2020; RF and SVM rows:\nFernández-Delgado et al. 2014)",
                color="0.6")
    bar_ax.set_yticks(list(positions), summary.index)
    bar_ax.set_xlim(min(summary["accuracy_mean"].min(), PUBLISHED["accuracy_mean"].min()) - 3, None)
    bar_ax.set_xlabel("average accuracy over datasets (%)")
    bar_ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    write_table(out_dir)


def _ntk_against_forest(ax, table: pd.DataFrame) -> None:
    ax.scatter(table["RF"], table["NTK"], s=14, color="C0")
    low = min(table["RF"].min(), table["NTK"].min())
    ax.plot([low, 100], [low, 100], color="0.5", ls=":")
    wins = int((table["NTK"] > table["RF"]).sum())
    losses = int((table["NTK"] < table["RF"]).sum())
    ax.set_xlabel("random forest accuracy (%)")
    ax.set_ylabel("NTK SVM accuracy (%)")
    ax.set_title(f"per dataset: NTK better on {wins}, RF better on {losses} of {len(table)}")


def _cell(value: float, spread: float | None = None) -> str:
    if pd.isna(value):
        return "–"
    return f"{value:.2f}%" + ("" if spread is None else f" ± {spread:.2f}%")


def write_table(out_dir: Path) -> None:
    """table.md: ours beside the published rows (metrics computed the published way), then the
    lecture's metrics among the six classifiers run here, then the accuracy per dataset."""
    summary = ours(out_dir)
    uncapped = len(uncapped_datasets(out_dir))
    published_way = ["| classifier | ours | published row | avg accuracy, ours / published "
                     f"| P90 (vs best of 179 + ours, {uncapped} datasets) / published | P95, same / published "
                     "| PMA, same / published |", "|---|---|---|---|---|---|---|"]
    among_six = ["| classifier | Friedman rank among the six run here (published: among 179+) "
                 "| P90 among the six run here | P95 among the six run here | PMA among the six run here |",
                 "|---|---|---|---|---|"]
    for name, row in summary.iterrows():
        pub = PUBLISHED.loc[name]
        published_way.append(
            f"| {name} | re-run here | {PUBLISHED_SOURCE[name]} "
            f"| {_cell(row.accuracy_mean, row.accuracy_std)} / {_cell(pub.accuracy_mean, pub.accuracy_std)} "
            f"| {_cell(row.p90_179)} / {_cell(pub.p90)} | {_cell(row.p95_179)} / {_cell(pub.p95)} "
            f"| {_cell(row.pma_mean_179, row.pma_std_179)} / {_cell(pub.pma_mean, pub.pma_std)} |")
        among_six.append(f"| {name} | {row.friedman_rank:.2f} ({pub.friedman_rank:.2f}) | {_cell(row.p90)} "
                         f"| {_cell(row.p95)} | {_cell(row.pma_mean, row.pma_std)} |")
    per_dataset = accuracy_table(out_dir).round(2).reset_index()
    text = ("**Ours beside Arora et al. (2020), Table 1.** Every row of ours is a re-run on the same splits. "
            "Of the published rows, NTK and NN were run by Arora et al.; RF, Gaussian and polynomial kernel are "
            "the results Fernández-Delgado et al. (2014) reported. P90 / P95 / PMA as published: against the best "
            "accuracy on each dataset of Fernández-Delgado et al.'s 179 classifiers and ours, on the "
            f"{uncapped} datasets we ran on all their rows (their accuracies are on the full datasets); "
            "averages ± sample std over datasets.\n\n"
            + "\n".join(published_way)
            + f"\n\n**Among the six classifiers run here, on all {len(per_dataset)} datasets run** (the best of six "
            "as the reference, so P90 / P95 / PMA are higher than against 179+ classifiers; our Friedman rank "
            "ranks six, the published one 179+, so compare orderings).\n\n"
            + "\n".join(among_six) + "\n\n```{dropdown} Accuracy per dataset (%)\n\n"
            + per_dataset.to_markdown(index=False) + "\n```\n")
    save_text(out_dir / "table.md", text)
