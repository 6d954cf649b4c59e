"""fig-projections-*: where ||y||^2 sits on the eigenvectors of H*, from spectrum.csv.

The lecture's sentence has two halves, each checked with its own threshold: true labels put
"most" of ||y||^2 (more than ``most_share``, i.e. half) on the top k eigenvectors; random labels
"spread almost uniformly". For labels independent of H*, <v_i, y>^2 has mean 1 and variance at
most 2, so the cumulative share of the top k eigenvectors is k/n plus a bridge whose largest
excursion is sqrt(2/n) times a Kolmogorov variable: "uniform" holds when the largest gap to k/n is
below the Kolmogorov quantile at ``uniform_confidence`` times sqrt(2/n).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kstwobign

from ntk_study.claims import ClaimResult, check
from ntk_study.data.two_class import INPUT_DIMS


def top_share(spectrum: pd.DataFrame, labels: str, k: int) -> float:
    """Fraction of ||y||^2 on the eigenvectors of the k largest eigenvalues."""
    projections = spectrum[f"projection_{labels}"]
    return float(projections.iloc[:k].sum() / projections.sum())


def uniform_gap(spectrum: pd.DataFrame, labels: str) -> float:
    """Largest gap, over k, between the share of ||y||^2 on the top k eigenvectors and k/n."""
    projections = spectrum[f"projection_{labels}"].to_numpy()
    n = len(projections)
    return float(np.abs(np.cumsum(projections) / projections.sum() - np.arange(1, n + 1) / n).max())


def uniform_tolerance(n: int, confidence: float) -> float:
    """The ``confidence`` quantile of uniform_gap for labels independent of H* (see the module docstring)."""
    return float(kstwobign.ppf(confidence) * np.sqrt(2 / n))


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    spectrum = pd.read_csv(out_dir / "spectrum.csv")
    n, k, most = len(spectrum), settings["top_k"], settings["most_share"]
    shares = {name: top_share(spectrum, name, k) for name in ("true", "random")}
    gaps = {name: uniform_gap(spectrum, name) for name in ("true", "random")}
    tolerance = uniform_tolerance(n, settings["uniform_confidence"])
    return [
        check(out_dir.name, "top-k-share", shares["true"],
              threshold=f"share of ||y||^2 in the top {k} of {n} eigenvectors > {most:g} (\"most\")",
              passed=shares["true"] > most, scale=scale,
              measured_text=(f"top-{k} share: true labels {shares['true']:.1%}, random labels {shares['random']:.1%} "
                             f"(uniform: {k / n:.1%})")),
        check(out_dir.name, "random-uniform", gaps["random"],
              threshold=(f"max_k |share in top k - k/n| <= {tolerance:.4f} (random labels independent of H*, "
                         f"{settings['uniform_confidence']:.0%} Kolmogorov quantile x sqrt(2/n))"),
              passed=gaps["random"] <= tolerance, scale=scale,
              measured_text=(f"max_k |share in top k - k/n|: random labels {gaps['random']:.4f}, "
                             f"true labels {gaps['true']:.4f}")),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: the n x n kernel (n^2 d) and its eigendecomposition (n^3)."""
    n = settings["n_train"]
    return float(n**2 * INPUT_DIMS[settings["dataset"]] + n**3)
