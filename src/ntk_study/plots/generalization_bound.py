"""fig-generalization-bound: complexity and test errors vs label noise, per dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from ntk_study.plots.style import apply_style, save_figure


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = pd.read_csv(out_dir / "bound.csv")
    apply_style()
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        rows = table[table["dataset"] == dataset]
        ax.plot(rows["noise"], rows["complexity"], "o-", color="C0", label=r"$\sqrt{2 y^\top H^{*-1} y / n}$")
        ax.set_xlabel("label noise p")
        ax.set_ylabel("complexity", color="C0")
        errors = ax.twinx()
        errors.plot(rows["noise"], rows["network_test_error"], "s-", color="C3", label="network test error")
        errors.plot(rows["noise"], rows["kernel_test_error"], "^--", color="C2", label="kernel predictor test error")
        errors.set_ylabel("test error", color="C3")
        errors.grid(False)
        handles = ax.get_legend_handles_labels()[0] + errors.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + errors.get_legend_handles_labels()[1]
        ax.legend(handles, labels, fontsize=8, loc="upper left")
        ax.set_title(f"{dataset}, classes 0 and 1, n = {int(rows['n_train'].iloc[0])}")
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
