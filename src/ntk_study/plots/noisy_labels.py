"""tab-noisy-labels: test accuracy by noise level and method, and the table beside the lecture's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ntk_study.analysis.noisy_labels import (
    AUX_OF,
    LABELS,
    PUBLISHED,
    PUBLISHED_NOISE,
    aux_margins,
    read_histories,
    summary,
)
from ntk_study.io import save_text
from ntk_study.plots.style import apply_style, save_figure

# (method, column of the summary, legend label, colour, line style)
CURVES = [
    ("ce", "early_stop", "CCE normal, early stop", "C0", "--"),
    ("ce", "final", "CCE normal, final epoch", "C0", ":"),
    ("mse", "early_stop", "MSE normal, early stop", "C1", "--"),
    ("mse", "final", "MSE normal, final epoch", "C1", ":"),
    ("ce_aux", "final", "CCE+AUX, final epoch", "C0", "-"),
    ("mse_aux", "final", "MSE+AUX, final epoch", "C1", "-"),
    ("mse_rdi", "final", "MSE+RDI, final epoch", "C2", "-"),
]


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = summary(read_histories(out_dir))
    apply_style()
    fig, (accuracy_ax, margin_ax) = plt.subplots(1, 2, figsize=(14, 5))
    for method, column, label, color, line in CURVES:
        rows = table[table["method"] == method].sort_values("noise")
        if len(rows):
            accuracy_ax.errorbar(rows["noise"], rows[f"{column}_mean"], yerr=rows[f"{column}_std"].fillna(0),
                                 color=color, ls=line, marker="o", ms=4, capsize=3, label=label)
    accuracy_ax.set_xlabel("label noise p")
    accuracy_ax.set_ylabel("clean test accuracy (%)")
    accuracy_ax.set_title(f"ours: stax ResNet, {settings['n_train']} CIFAR-10 images at "
                          f"{settings['image_size']}x{settings['image_size']}, {settings['seeds']} seeds")
    accuracy_ax.legend(fontsize=8)

    margins = aux_margins(table, 0.0)
    for index, (base, aux) in enumerate(AUX_OF.items()):
        ours = margins[margins["loss"] == base]
        offset = (index - 0.5) * 0.03
        margin_ax.bar(ours["noise"] + offset, ours["margin"], width=0.03, color=f"C{index}",
                      label=f"{LABELS[aux]} - early stop (ours)")
        published = np.subtract(PUBLISHED[LABELS[aux]], PUBLISHED[f"{LABELS[base]} (early stop)"])
        margin_ax.plot(PUBLISHED_NOISE, published, color=f"C{index}", marker="s", ls=":",
                       label=f"{LABELS[aux]} - early stop (published, ResNet-34)")
    margin_ax.axhline(0.0, color="k", lw=0.8)  # the claim's threshold
    margin_ax.set_xlabel("label noise p")
    margin_ax.set_ylabel("AUX (final) minus early stopping (points)")
    margin_ax.set_title("what AUX gains over early stopping")
    margin_ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    save_text(out_dir / "table.md", table_markdown(table))


def table_markdown(table) -> str:
    """Ours (mean ± std over seeds) and the lecture's ResNet-34 numbers, by noise level."""
    noises = sorted(table["noise"].unique())
    header = "| method | " + " | ".join(f"ours p={p:g}" for p in noises) + " | " + \
        " | ".join(f"published p={p:g}" for p in PUBLISHED_NOISE) + " |"
    lines = [header, "|" + "---|" * (1 + len(noises) + len(PUBLISHED_NOISE))]
    for method, column, label, _, _ in CURVES:
        rows = table[table["method"] == method].set_index("noise")
        if rows.empty:
            continue
        ours = [f"{rows.loc[p, f'{column}_mean']:.1f} ± {np.nan_to_num(rows.loc[p, f'{column}_std']):.1f}"
                for p in noises]
        published_key = label.replace(", early stop", " (early stop)").replace(", final epoch", "")
        published = PUBLISHED.get(published_key)
        shown = [("–" if v is None else f"{v:.2f}") for v in published] if published else ["–"] * 4
        lines.append(f"| {label} | " + " | ".join(ours) + " | " + " | ".join(shown) + " |")
    zhang = PUBLISHED["Zhang & Sabuncu 2018"]
    lines.append("| Zhang & Sabuncu 2018 (published only) | " + " | ".join("–" for _ in noises) + " | "
                 + " | ".join("–" if v is None else f"{v:.2f}" for v in zhang) + " |")
    return "\n".join(lines) + "\n"
