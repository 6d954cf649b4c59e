"""tab-cntk: CNTK-GAP against CNTK-V, and the CNTK against the finite CNN, from accuracies.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study.claims import ClaimResult, check

# Arora et al. (2019), Table 1, full CIFAR-10, by depth.
PUBLISHED = pd.DataFrame({
    "depth": [3, 4, 6, 11, 21],
    "CNTK-V": [64.47, 65.52, 66.03, 65.90, 64.09],
    "CNTK-GAP": [70.47, 75.93, 76.73, 77.43, 77.08],
})
GAP_MARGIN = 2.0  # points: "by several points"


def summary(out_dir: Path) -> pd.DataFrame:
    """Mean and std over draws of the accuracy, per (model, readout, depth, n_train)."""
    acc = pd.read_csv(out_dir / "accuracies.csv")
    return (acc.groupby(["model", "readout", "depth", "n_train"])["accuracy"].agg(["mean", "std", "count"])
            .reset_index())


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    table = summary(out_dir)
    cntk = table[table["model"] == "CNTK"]
    largest = max(settings["train_sizes"])
    at_largest = cntk[cntk["n_train"] == largest].pivot(index="depth", columns="readout", values="mean")
    gap_lead = at_largest["gap"] - at_largest["vanilla"]
    depth = settings["few_shot_depth"]
    few = table[table["depth"] == depth].pivot_table(index=["readout", "n_train"], columns="model", values="mean")
    small = few.index.get_level_values("n_train") <= settings["small_n"]
    lead = (few["CNTK"] - few["CNN"])[small]
    return [
        check("tab-cntk", "gap-beats-vanilla", float(gap_lead.min()),
              threshold=f"GAP - V >= {GAP_MARGIN:g} points at every depth (n = {largest})",
              passed=bool((gap_lead >= GAP_MARGIN).all()), scale=scale,
              measured_text="GAP - V at n = {}: {}".format(
                  largest, ", ".join(f"depth {d}: {v:+.1f}" for d, v in gap_lead.items()))),
        check("tab-cntk", "cntk-beats-cnn", float(lead.mean()),
              threshold=f"CNTK > CNN on average over n <= {settings['small_n']} and both readouts (depth {depth})",
              passed=bool(lead.mean() > 0), scale=scale,
              measured_text="CNTK - CNN: " + ", ".join(f"{r} n={n}: {v:+.1f}" for (r, n), v in lead.items())),
    ]


def _pairs(settings: dict[str, Any]) -> float:
    n = max(settings["train_sizes"])
    return float(settings["draws"] * n * (n + settings["n_test"]))


def kernel_work(settings: dict[str, Any]) -> float:
    """image pairs x (pixels)^2 x deepest depth (full spatial covariance through each layer)."""
    return _pairs(settings) * settings["image_size"] ** 4 * max(settings["depths"])


def work(settings: dict[str, Any]) -> float:
    """CNN training ~ images x steps x pixels x width^2 x depth, plus the n^3 solves."""
    cnn = settings["cnn"]
    images = settings["draws"] * sum(settings["train_sizes"]) * 2
    return float(images * cnn["steps"] * settings["image_size"] ** 2 * cnn["width"] ** 2 * settings["few_shot_depth"]
                 + settings["draws"] * max(settings["train_sizes"]) ** 3 * len(settings["depths"]))
