"""tab-uci: NTK against random forest per dataset, and the metric table beside the lecture's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from ntk_study.analysis.uci import PUBLISHED, accuracy_table, ours
from ntk_study.io import save_text
from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = accuracy_table(out_dir)
    apply_style()
    fig, (scatter_ax, bar_ax) = plt.subplots(1, 2, figsize=(14, 5.6))
    scatter_ax.scatter(table["RF"], table["NTK"], s=14, color="C0")
    low = min(table["RF"].min(), table["NTK"].min())
    scatter_ax.plot([low, 100], [low, 100], color="0.5", ls=":")
    wins = int((table["NTK"] > table["RF"]).sum())
    losses = int((table["NTK"] < table["RF"]).sum())
    scatter_ax.set_xlabel("random forest accuracy (%)")
    scatter_ax.set_ylabel("NTK SVM accuracy (%)")
    scatter_ax.set_title(f"per dataset: NTK better on {wins}, RF better on {losses} of {len(table)}")
    summary = ours(out_dir)
    positions = range(len(summary))
    bar_ax.barh([p + 0.2 for p in positions], summary["accuracy_mean"], height=0.4, label="ours", color="C0")
    bar_ax.barh([p - 0.2 for p in positions], PUBLISHED.loc[summary.index, "accuracy_mean"], height=0.4,
                label="Arora et al. 2020", color="0.6")
    bar_ax.set_yticks(list(positions), summary.index)
    bar_ax.set_xlim(min(summary["accuracy_mean"].min(), PUBLISHED["accuracy_mean"].min()) - 3, None)
    bar_ax.set_xlabel("average accuracy over datasets (%)")
    bar_ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    write_table(out_dir)


def write_table(out_dir: Path) -> None:
    """table.md: our metrics and the lecture's, side by side."""
    summary = ours(out_dir)
    lines = ["| classifier | Friedman rank (ours / published) | avg accuracy | P90 | P95 | PMA |",
             "|---|---|---|---|---|---|"]
    for name, row in summary.iterrows():
        pub = PUBLISHED.loc[name]
        lines.append(
            f"| {name} | {row.friedman_rank:.2f} / {pub.friedman_rank:.2f} "
            f"| {row.accuracy_mean:.2f}% ± {row.accuracy_std:.2f}% "
            f"/ {pub.accuracy_mean:.2f}% ± {pub.accuracy_std:.2f}% "
            f"| {row.p90:.2f}% / {pub.p90:.2f}% | {row.p95:.2f}% / {pub.p95:.2f}% "
            f"| {row.pma_mean:.2f}% ± {row.pma_std:.2f}% / {pub.pma_mean:.2f}% ± {pub.pma_std:.2f}% |")
    per_dataset = accuracy_table(out_dir).round(2).reset_index()
    text = ("**Metrics, ours / Arora et al. (2020).** Our Friedman rank ranks the six classifiers run here "
            "(1 = best); the published one ranks among 179+ classifiers, so compare orderings.\n\n"
            + "\n".join(lines) + "\n\n```{dropdown} Accuracy per dataset (%)\n\n"
            + per_dataset.to_markdown(index=False) + "\n```\n")
    save_text(out_dir / "table.md", text)
