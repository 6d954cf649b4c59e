"""tab-cntk: CNTK-GAP against CNTK-V, and the CNTK against the finite CNN, from accuracies.csv and,
when the settings hold a ``full`` section (the paper config), the full-CIFAR results under full/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide, decide_every

# Arora et al. (2019), Table 1, full CIFAR-10, by depth as the reference code counts it
# (convolutions + 1; our depth has the same meaning, see kernels.convolutional).
PUBLISHED = pd.DataFrame({
    "depth": [3, 4, 6, 11, 21],
    "CNTK-V": [64.47, 65.52, 66.03, 65.90, 64.09],
    "CNTK-GAP": [70.47, 75.93, 76.73, 77.43, 77.08],
})

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
    """Full-CIFAR accuracy per (model, readout, depth), the same columns as ``summary`` (one run:
    no spread over draws)."""
    table = pd.concat([pd.read_csv(out_dir / name) for name in full_data_files(settings)], ignore_index=True)
    return table.rename(columns={"accuracy": "mean"}).assign(std=float("nan"), se=float("nan"), count=1)[
        ["model", "readout", "depth", "n_train", "mean", "std", "se", "count"]]


def depth_trend(out_dir: Path, settings: dict[str, Any]) -> pd.DataFrame:
    """Accuracy by depth of the kernels (and, for the full setting, the CNNs) on the largest
    training set run: the full set when the settings have one, else the largest few-shot size."""
    if settings.get("full"):
        return full_summary(out_dir, settings)
    table = summary(out_dir)
    return table[(table["model"] == "CNTK") & (table["n_train"] == max(settings["train_sizes"]))]


def summary(out_dir: Path) -> pd.DataFrame:
    """Mean, std and standard error (std / sqrt(draws)) over draws of the accuracy, per (model,
    readout, depth, n_train)."""
    acc = pd.read_csv(out_dir / "accuracies.csv")
    table = (acc.groupby(["model", "readout", "depth", "n_train"])["accuracy"].agg(["mean", "std", "count"])
             .reset_index())
    return table.assign(se=table["std"] / np.sqrt(table["count"]))


def paired_leads(acc: pd.DataFrame, index: list[str], column: str, minuend: str, subtrahend: str) -> pd.Series:
    """The per-draw difference ``minuend - subtrahend`` of ``column`` (same draw: same training and
    test images), indexed by ``index`` and the draw; the draws' test sets are disjoint, so the
    spread over draws carries the test-set sampling too."""
    wide = acc.pivot_table(index=[*index, "draw"], columns=column, values="accuracy")
    return (wide[minuend] - wide[subtrahend]).dropna()


def _gap_claim(out_dir: Path, settings: dict[str, Any], scale: str) -> ClaimRow:
    """GAP - V: with the full setting, one run per depth on all of CIFAR-10 (the depths are the
    replicates); else per draw on the largest training set run, every depth decided on its own."""
    if settings.get("full"):
        trend = depth_trend(out_dir, settings)
        kernels = trend[trend["model"] == "CNTK"].pivot_table(index="depth", columns="readout", values="mean")
        leads = (kernels["gap"] - kernels["vanilla"]).dropna()
        text = ", ".join(f"depth {depth}: {lead:+.1f}" for depth, lead in leads.items())
        n = int(trend["n_train"].max())
        return decide("tab-cntk", "gap-beats-vanilla", leads.to_list(), scale,
                      details=f"GAP - V at n = {n} (one run per depth): {text}")
    acc = pd.read_csv(out_dir / "accuracies.csv")
    largest = max(settings["train_sizes"])
    leads = paired_leads(acc[(acc["model"] == "CNTK") & (acc["n_train"] == largest)], ["depth"], "readout", "gap",
                         "vanilla")
    groups = {f"depth {depth}": rows.to_list() for depth, rows in leads.groupby(level="depth")}
    text = ", ".join(f"{name}: {_lead_text(values)}" for name, values in groups.items())
    return decide_every("tab-cntk", "gap-beats-vanilla", groups, scale, noun="depth",
                        details=f"GAP - V at n = {largest}, mean ± s.e. over draws: {text}")


def _cnn_claim(out_dir: Path, settings: dict[str, Any], scale: str) -> ClaimRow:
    """CNTK - CNN at the few-shot depth, per draw, every (readout, n <= small_n) decided on its own."""
    acc = pd.read_csv(out_dir / "accuracies.csv")
    few = acc[(acc["depth"] == settings["few_shot_depth"]) & (acc["n_train"] <= settings["small_n"])]
    leads = paired_leads(few, ["readout", "n_train"], "model", "CNTK", "CNN")
    groups = {f"{readout} n={n}": rows.to_list() for (readout, n), rows in leads.groupby(level=["readout", "n_train"])}
    runs = few[few["model"] == "CNN"]
    converged = int(runs["converged"].astype(bool).sum()) if "converged" in runs else 0
    text = ", ".join(f"{name}: {_lead_text(values)}" for name, values in groups.items())
    return decide_every("tab-cntk", "cntk-beats-cnn", groups, scale, noun="cell",
                        details=f"CNTK - CNN at depth {settings['few_shot_depth']}, mean ± s.e. over draws: {text}; "
                                f"CNN runs converged: {converged} of {len(runs)}")


def _lead_text(values: list[float]) -> str:
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:+.1f}"
    return f"{mean:+.1f} ± {float(np.std(values, ddof=1)) / np.sqrt(len(values)):.1f}"


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    return [_gap_claim(out_dir, settings, scale), _cnn_claim(out_dir, settings, scale)]


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
    """CNN training ~ images x steps (at most max_steps) x pixels x width^2 x depth, for the draws
    and the learning-rate search, plus the n^3 solves."""
    cnn = settings["cnn"]
    runs = settings["draws"] + len(cnn["learning_rates"])
    images = runs * sum(settings["train_sizes"]) * 2
    return float(images * cnn["max_steps"] * settings["image_size"] ** 2 * cnn["width"] ** 2
                 * settings["few_shot_depth"]
                 + settings["draws"] * max(settings["train_sizes"]) ** 3 * len(settings["depths"]))
