"""fig-projections-*: share of ||y||^2 on the top eigenvectors of H*, from spectrum.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimResult, check
from ntk_study.data.two_class import INPUT_DIMS


def top_share(spectrum: pd.DataFrame, labels: str, k: int) -> float:
    """Fraction of ||y||^2 on the eigenvectors of the k largest eigenvalues."""
    projections = spectrum[f"projection_{labels}"]
    return float(projections.iloc[:k].sum() / projections.sum())


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    spectrum = pd.read_csv(out_dir / "spectrum.csv")
    k, ratio = settings["top_k"], settings["share_ratio"]
    true, random = top_share(spectrum, "true", k), top_share(spectrum, "random", k)
    return [check(
        out_dir.name, "top-k-share", true / random,
        threshold=f"share(true) >= {ratio:g} x share(random) in the top {k} of {len(spectrum)}",
        passed=true >= ratio * random, scale=scale,
        measured_text=(f"top-{k} share: true labels {true:.1%}, random labels {random:.1%} "
                       f"(uniform: {k / len(spectrum):.1%})"),
    )]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: the n x n kernel (n^2 d) and its eigendecomposition (n^3)."""
    n = settings["n_train"]
    return float(n**2 * INPUT_DIMS[settings["dataset"]] + n**3)
