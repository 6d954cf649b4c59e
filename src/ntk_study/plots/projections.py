"""fig-projections-*: eigenvalues of H* and the label projections on its eigenvectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntk_study.analysis.projections import UNIFORM_CONFIDENCE, rank_centroid, uniform_tolerance
from ntk_study.plots.style import apply_style, save_figure

LABELS = {"true": ("true labels", "C0"), "random": ("random labels", "C3"), "worst": ("worst case", "0.4")}


def inputs_text(settings: dict[str, Any]) -> str:
    """How the images were prepared, for the figures' setup lines."""
    return ("channels standardised, then unit-norm inputs" if settings["standardise_inputs"]
            else "raw pixels scaled to unit norm")


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    spectra = pd.read_csv(out_dir / "spectrum.csv")
    spectrum = spectra[spectra["subset"] == 0]  # the first draw of the images; the claim uses every draw
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
    n = len(spectrum)
    uniform, tolerance = spectrum["index"] / n, uniform_tolerance(n, UNIFORM_CONFIDENCE)
    share_ax.plot(spectrum["index"], uniform, ":", color="k", lw=1, label="uniform spread k/n")
    share_ax.fill_between(spectrum["index"], uniform - tolerance, uniform + tolerance, color="0.5", alpha=0.25,
                          label=f"uniform +- {tolerance:.3f} ({UNIFORM_CONFIDENCE:.0%})")
    for name, (label, color) in LABELS.items():
        values = spectrum[f"projection_{name}"]
        share_ax.plot(spectrum["index"], np.cumsum(values) / values.sum(), color=color, label=label)
    share_ax.axvline(settings["top_k"], ls=":", color="0.5")
    share_ax.set_xscale("log")
    share_ax.set_xlabel("k")
    share_ax.set_title(r"share of $\|y\|^2$ in the top k eigenvectors"
                       f"\n(rank centroid of the share: true {rank_centroid(spectrum, 'true'):.3f}, "
                       f"random {rank_centroid(spectrum, 'random'):.3f}; uniform 0.5)", fontsize=10)
    share_ax.legend(fontsize=8)
    fig.suptitle(f"{settings['dataset']} classes 0/1 (labels +-1), n = {n}, {inputs_text(settings)}; "
                 f"first of {spectra['subset'].nunique()} image draws; "
                 r"$H^*$ of the two-layer ReLU net's first layer; worst case: "
                 r"$\sqrt{n}\,v_n$")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save_figure(fig, out_dir / "figure.png")
