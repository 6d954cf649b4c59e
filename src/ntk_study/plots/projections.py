"""fig-projections-*: eigenvalues of H* and the label projections on its eigenvectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.plots.style import apply_style, save_figure

LABELS = {"true": ("true labels", "C0"), "random": ("random labels", "C3"), "worst": ("worst case", "0.4")}


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    spectrum = pd.read_csv(out_dir / "spectrum.csv")
    apply_style()
    fig, (eig_ax, proj_ax, share_ax) = plt.subplots(1, 3, figsize=(16, 4.4))
    eig_ax.plot(spectrum["index"], spectrum["eigenvalue"], color="k")
    eig_ax.set_yscale("log")
    eig_ax.set_xlabel("i (eigenvalues in decreasing order)")
    eig_ax.set_title(r"eigenvalues $\lambda_i$ of $H^*$")
    for name in ("true", "random"):
        label, color = LABELS[name]
        proj_ax.scatter(spectrum["index"], spectrum[f"projection_{name}"], s=6, color=color, alpha=0.6, label=label)
    proj_ax.set_yscale("log")
    proj_ax.set_ylim(bottom=max(1e-8, spectrum[["projection_true", "projection_random"]].min().min()))
    proj_ax.set_xlabel("i")
    proj_ax.set_title(r"projections $\langle v_i, y\rangle^2$")
    proj_ax.legend(fontsize=9)
    for name, (label, color) in LABELS.items():
        values = spectrum[f"projection_{name}"]
        share_ax.plot(spectrum["index"], np.cumsum(values) / values.sum(), color=color, label=label)
    share_ax.axvline(settings["top_k"], ls=":", color="0.5")
    share_ax.set_xscale("log")
    share_ax.set_xlabel("k")
    share_ax.set_title(r"share of $\|y\|^2$ in the top k eigenvectors")
    share_ax.legend(fontsize=9)
    fig.suptitle(f"{settings['dataset']}, classes 0 and 1, n = {len(spectrum)}", y=1.02)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
