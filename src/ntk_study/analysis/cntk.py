"""tab-cntk: CNTK-GAP against CNTK-V, and the CNTK against the finite CNN, from accuracies.csv and,
when the settings hold a ``full`` section (the paper config), the full-CIFAR results under full/."""

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

# The full-CIFAR setting's files, relative to results/tab-cntk (the workflow and the experiment
# both name them from here).
FULL_CNTK_FILE = "full/cntk.csv"


def full_shard_file(shard: int | str) -> str:
    """Rows of the Gram matrices computed by kernel job ``shard`` (see experiments.cntk_full);
    the workflow passes a wildcard pattern ("{shard}") for its output."""
    return f"full/kernel_rows_{shard}.npy"


def full_cnn_file(depth: int | str) -> str:
    """Test accuracy of the finite CNNs (both readouts) of one depth on the full training set."""
    return f"full/cnn_L{depth}.csv"


def full_data_files(settings: dict[str, Any]) -> tuple[str, ...]:
    """Result files of the full-CIFAR setting; none without a ``full`` section."""
    if not settings.get("full"):
        return ()
    return (FULL_CNTK_FILE, *(full_cnn_file(depth) for depth in settings["depths"]))


def full_summary(out_dir: Path, settings: dict[str, Any]) -> pd.DataFrame:
    """Full-CIFAR accuracy per (model, readout, depth), the same columns as ``summary``."""
    table = pd.concat([pd.read_csv(out_dir / name) for name in full_data_files(settings)], ignore_index=True)
    return table.rename(columns={"accuracy": "mean"}).assign(std=float("nan"), count=1)[
        ["model", "readout", "depth", "n_train", "mean", "std", "count"]]


def depth_trend(out_dir: Path, settings: dict[str, Any]) -> pd.DataFrame:
    """Accuracy by depth of the kernels (and, for the full setting, the CNNs) on the largest
    training set run: the full set when the settings have one, else the largest few-shot size."""
    if settings.get("full"):
        return full_summary(out_dir, settings)
    table = summary(out_dir)
    return table[(table["model"] == "CNTK") & (table["n_train"] == max(settings["train_sizes"]))]


def summary(out_dir: Path) -> pd.DataFrame:
    """Mean and std over draws of the accuracy, per (model, readout, depth, n_train)."""
    acc = pd.read_csv(out_dir / "accuracies.csv")
    return (acc.groupby(["model", "readout", "depth", "n_train"])["accuracy"].agg(["mean", "std", "count"])
            .reset_index())


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimResult]:
    table = summary(out_dir)
    trend = depth_trend(out_dir, settings)
    trend = trend[trend["model"] == "CNTK"]
    largest = int(trend["n_train"].max())
    by_depth = trend.pivot(index="depth", columns="readout", values="mean")
    gap_lead = by_depth["gap"] - by_depth["vanilla"]
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


def full_kernel_work(settings: dict[str, Any]) -> float:
    """Full setting: (upper-triangle training pairs + test x training pairs) x (pixels)^2 x deepest depth."""
    full = settings.get("full") or {"n_train": 0, "n_test": 0}
    n = full["n_train"]
    return float(n * (n + 1) / 2 + full["n_test"] * n) * settings["image_size"] ** 4 * max(settings["depths"])


def full_cnn_work(settings: dict[str, Any]) -> float:
    """Full setting, all CNN jobs: images x epochs x pixels x width^2 x depth, both readouts, every depth."""
    if not settings.get("full"):
        return 0.0
    full, cnn = settings["full"], settings["full"]["cnn"]
    return float(2 * full["n_train"] * cnn["epochs"] * settings["image_size"] ** 2 * cnn["width"] ** 2
                 * sum(settings["depths"]))


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
