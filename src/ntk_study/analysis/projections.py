"""fig-projections-*: where ||y||^2 sits on the eigenvectors of H*, from spectrum.csv.

True labels "put most of ||y||^2 on the top eigenvectors": measured without choosing a k, by the
centroid of the share of ||y||^2 over the eigenvector ranks i/n (0: all on the top eigenvector,
about 0.5: spread uniformly), one value per draw of the training images.

Random labels "spread almost uniformly" holds by construction: for labels independent of H*,
<v_i, y>^2 has mean 1 in any orthonormal basis. It is kept as a code check: the cumulative share of
the top k eigenvectors is k/n plus a bridge whose largest excursion is sqrt(2/n) times a
Kolmogorov variable, so the largest gap to k/n must stay below the Kolmogorov quantile at
``UNIFORM_CONFIDENCE`` times sqrt(2/n).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kstwobign

from ntk_study.claims import ClaimRow, decide, exact
from ntk_study.data.two_class import INPUT_DIMS

UNIFORM_CONFIDENCE = 0.99  # the code check's band (catalogue: 99% Kolmogorov band)


def rank_centroid(spectrum: pd.DataFrame, labels: str) -> float:
    """Centroid of the share of ||y||^2 over the ranks i/n of the eigenvectors (decreasing
    eigenvalue): 1/n if all of it is on the top eigenvector, (n + 1) / 2n for a uniform spread."""
    projections = spectrum[f"projection_{labels}"].to_numpy()
    ranks = spectrum["index"].to_numpy() / len(projections)
    return float((ranks * projections).sum() / projections.sum())


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


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    spectra = pd.read_csv(out_dir / "spectrum.csv")
    by_subset = [table for _, table in spectra.groupby("subset")]
    n, k = len(by_subset[0]), settings["top_k"]
    centroids = {name: [rank_centroid(table, name) for table in by_subset] for name in ("true", "random")}
    shares = {name: np.mean([top_share(table, name, k) for table in by_subset]) for name in ("true", "random")}
    gaps = [uniform_gap(table, "random") for table in by_subset]
    tolerance = uniform_tolerance(n, UNIFORM_CONFIDENCE)
    return [
        decide(out_dir.name, "top-k-share", centroids["true"], scale,
               details=(f"rank centroid of ||y||^2 (uniform spread: 0.5): random labels "
                        f"{np.mean(centroids['random']):.3f} on average; share of the top {k} of {n} eigenvectors "
                        f"(mean over draws): true {shares['true']:.1%}, random {shares['random']:.1%}")),
        exact(out_dir.name, "random-uniform", max(gaps), holds=max(gaps) <= tolerance, scale=scale,
              details=(f"largest max_k |share in top k - k/n| of random labels over {len(gaps)} draws: "
                       f"{max(gaps):.4f}, band {tolerance:.4f} ({UNIFORM_CONFIDENCE:.0%} Kolmogorov quantile x "
                       f"sqrt(2/n)); true labels {np.mean([uniform_gap(t, 'true') for t in by_subset]):.4f}")),
    ]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: per image draw, the n x n kernel (n^2 d) and its
    eigendecomposition (n^3)."""
    n = settings["n_train"]
    return float(settings["subsets"] * (n**2 * INPUT_DIMS[settings["dataset"]] + n**3))
