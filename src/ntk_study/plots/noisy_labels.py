"""tab-noisy-labels: test accuracy by noise level and method, and the table beside the lecture's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.noisy_labels import (
    AUX_OF,
    LABELS,
    PUBLISHED,
    PUBLISHED_NOISE,
    paired_margins,
    per_run,
    read_histories,
    summary,
)
from ntk_study.io import save_text
from ntk_study.plots.noisy_labels_curve import STYLES, method_label
from ntk_study.plots.style import apply_style, save_figure

# (method, column of the summary, legend label, line style; colours as in the curve figure);
# "final" is the mean of the last epochs, "early stop" the epoch a clean validation set chooses,
# "noisy stop" the one held-out noisy labels choose.
CURVES = [
    ("ce", "clean_stop", "CCE normal, early stop", "--"),
    ("ce", "noisy_stop", "CCE normal, noisy stop", "-."),
    ("ce", "final", "CCE normal, final epochs", ":"),
    ("mse", "clean_stop", "MSE normal, early stop", "--"),
    ("mse", "noisy_stop", "MSE normal, noisy stop", "-."),
    ("mse", "final", "MSE normal, final epochs", ":"),
    ("ce_aux", "final", "CCE+AUX, final epochs", "-"),
    ("mse_aux", "final", "MSE+AUX, final epochs", "-"),
    ("mse_rdi", "final", "MSE+RDI, final epochs", "-"),
]


def network_text(settings: dict[str, Any]) -> str:
    spec = settings[settings["network"]]
    if settings["network"] == "fully_connected":
        return f"{spec['depth']}-hidden-layer ReLU net, width {spec['width']}"
    return f"stax ResNet, blocks {spec['stage_blocks']}"


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    histories = read_histories(out_dir)
    table = summary(histories)
    runs = per_run(histories)
    apply_style()
    fig, (accuracy_ax, margin_ax) = plt.subplots(1, 2, figsize=(12, 5))
    for method, column, label, line in CURVES:
        color = STYLES[method][0]
        rows = table[table["method"] == method].sort_values("noise")
        if len(rows):
            chosen = method_label(method, histories[histories["method"] == method])
            accuracy_ax.errorbar(rows["noise"], rows[f"{column}_mean"], yerr=rows[f"{column}_std"].fillna(0),
                                 color=color, ls=line, marker="o", ms=4, capsize=3,
                                 label=label.replace(LABELS[method], chosen))
    accuracy_ax.set_xlabel("label noise p")
    accuracy_ax.set_ylabel("clean test accuracy (%)")
    accuracy_ax.set_title(f"ours: {network_text(settings)}, {settings['n_train']} {settings['dataset'].upper()} "
                          f"images at {settings['image_size']}x{settings['image_size']}\n"
                          f"mean and sd over {settings['seeds']} replicates", fontsize=10)
    accuracy_ax.legend(fontsize=7, ncol=2)

    margins = paired_margins(runs, AUX_OF, "clean_stop", 0.0)
    for index, (base, aux) in enumerate(AUX_OF.items()):
        ours = margins[margins["method"] == aux]
        offset = (index - 0.5) * 0.03
        color = STYLES[aux][0]
        means = ours.groupby("noise")["margin"].mean()
        margin_ax.bar(means.index + offset, means.to_numpy(), width=0.03, color=color, alpha=0.6,
                      label=f"{LABELS[aux]} - early stop (ours: mean, points are replicates)")
        margin_ax.scatter(ours["noise"] + offset, ours["margin"], color=color, s=10, zorder=3)
        published = np.subtract(PUBLISHED[LABELS[aux]], PUBLISHED[f"{LABELS[base]} (early stop)"])
        margin_ax.plot(PUBLISHED_NOISE, published, color=color, marker="s", ls=":",
                       label=f"{LABELS[aux]} - early stop (published, ResNet-34)")
    margin_ax.axhline(0.0, color="k", lw=0.8)  # the claim's threshold
    margin_ax.set_xlabel("label noise p")
    margin_ax.set_ylabel("AUX (final) minus early stopping (points)")
    margin_ax.set_title("what AUX gains over early stopping on a clean validation set\n"
                        "(paired by replicate; the claim is for p >= 0.2)", fontsize=10)
    margin_ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    selection = pd.read_csv(out_dir / "selection.csv")
    save_text(out_dir / "table.md", table_markdown(table) + "\n" + selection_markdown(selection, settings))


def table_markdown(table) -> str:
    """Ours (mean ± std over seeds) and the lecture's ResNet-34 numbers, by noise level."""
    noises = sorted(table["noise"].unique())
    header = "| method | " + " | ".join(f"ours p={p:g}" for p in noises) + " | " + \
        " | ".join(f"published p={p:g}" for p in PUBLISHED_NOISE) + " |"
    lines = [header, "|" + "---|" * (1 + len(noises) + len(PUBLISHED_NOISE))]
    for method, column, label, _ in CURVES:
        rows = table[table["method"] == method].set_index("noise")
        if rows.empty:
            continue
        ours = [f"{rows.loc[p, f'{column}_mean']:.1f} ± {np.nan_to_num(rows.loc[p, f'{column}_std']):.1f}"
                for p in noises]
        published_key = label.replace(", early stop", " (early stop)").replace(", final epochs", "")
        published = PUBLISHED.get(published_key)
        shown = [("–" if v is None else f"{v:.2f}") for v in published] if published else ["–"] * 4
        lines.append(f"| {label} | " + " | ".join(ours) + " | " + " | ".join(shown) + " |")
    zhang = PUBLISHED["Zhang & Sabuncu 2018"]
    lines.append("| Zhang & Sabuncu 2018 (published only) | " + " | ".join("–" for _ in noises) + " | "
                 + " | ".join("–" if v is None else f"{v:.2f}" for v in zhang) + " |")
    return "\n".join(lines) + "\n"


def selection_markdown(selection: pd.DataFrame, settings: dict[str, Any]) -> str:
    """The lambda search: per method, the held-out noisy accuracy of every grid value run and the
    choice, with the method's stability limit and the grid values above it (not run)."""
    unit = selection["ntk_diagonal"].iloc[0]
    run = sorted(selection["lambda_relative"].unique())
    limits = []
    for method, rows in selection.groupby("method", sort=False):
        limit = rows["stability_limit"].iloc[0]
        above = [v for v in settings["lambda_grid"] if v * unit >= limit]
        limits.append(f"{LABELS[method]} λ < {limit:.3g} ({limit / unit:.3g} × the diagonal"
                      + (f"; not run: {', '.join(f'{v:g}' for v in above)})" if above else ")"))
    lines = [f"λ search at p = {selection['noise'].iloc[0]:g} on {int(selection['replicates'].iloc[0])} replicates "
             f"of its own (not reported); λ in units of the NTK diagonal ({unit:.3g}). Stability limits of this "
             "SGD schedule (the AUX variables' update; RDI's penalty): " + "; ".join(limits) + ".",
             "",
             "| method | " + " | ".join(f"λ = {v:g}" for v in run) + " | chosen |",
             "|---|" + "---|" * (len(run) + 1)]
    for method, rows in selection.groupby("method", sort=False):
        accuracy = rows.set_index("lambda_relative")["final_validation_accuracy"]
        cells = [f"{100 * accuracy[v]:.1f}" if v in accuracy.index else "–" for v in run]
        chosen = rows.loc[rows["chosen"], "lambda_relative"].iloc[0]
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + f" | {chosen:g} |")
    return "\n".join(lines) + "\n\nCells: final accuracy (%) on the held-out noisy labels, mean over the replicates.\n"
