"""tab-noisy-labels: test accuracy by noise level and method, and the AUX-vs-early-stopping claim.

Read from ``histories.csv`` (experiments.noisy_labels). Accuracies are in percent. "Early stop"
is the epoch with the best accuracy on the held-out *noisy* labels (ties: the earliest), per run;
"final" is the last epoch; "best" is the best test accuracy over epochs (an oracle, shown only to
measure how much stopping early could gain). Means and standard deviations are over replicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide_every, not_testable

FIGURE_ID = "tab-noisy-labels"
# The claim's premise: "at noise >= 0.2" (the catalogue states it).
CLAIM_MIN_NOISE = 0.2
NORMAL = ("ce", "mse")
AUX_OF = {"ce": "ce_aux", "mse": "mse_aux"}
LABELS = {"ce": "CCE normal", "mse": "MSE normal", "ce_aux": "CCE+AUX", "mse_aux": "MSE+AUX", "mse_rdi": "MSE+RDI"}
# The lecture's table (Hu et al. 2020, ResNet-34 on CIFAR-10), test accuracy % at noise 0 / 0.2 / 0.4 / 0.6.
PUBLISHED = {
    "CCE normal (early stop)": (94.05, 89.73, 86.35, 79.13),
    "MSE normal (early stop)": (93.88, 89.96, 85.92, 78.68),
    "CCE+AUX": (94.22, 92.07, 87.81, 82.60),
    "MSE+AUX": (94.25, 92.31, 88.92, 83.90),
    "Zhang & Sabuncu 2018": (None, 89.83, 87.62, 82.70),
}
PUBLISHED_NOISE = (0.0, 0.2, 0.4, 0.6)


def read_histories(out_dir: Path) -> pd.DataFrame:
    histories = pd.read_csv(out_dir / "histories.csv")
    for column in ("test_accuracy", "validation_accuracy", "train_accuracy"):
        histories[column] = 100 * histories[column]
    return histories


def per_run(histories: pd.DataFrame) -> pd.DataFrame:
    """One row per (noise, method, replicate): final, best and early-stopped test accuracy."""
    rows = []
    for (noise, method, replicate), run in histories.groupby(["noise", "method", "replicate"]):
        run = run.sort_values("epoch")
        stop = run.loc[run["validation_accuracy"].idxmax()]  # first maximum: the earliest epoch
        rows.append({"noise": noise, "method": method, "replicate": replicate,
                     "final": run["test_accuracy"].iloc[-1], "best": run["test_accuracy"].max(),
                     "early_stop": stop["test_accuracy"], "stop_epoch": int(stop["epoch"])})
    return pd.DataFrame(rows)


def summary(histories: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over replicates of final / best / early-stop accuracy per (noise, method)."""
    runs = per_run(histories)
    table = runs.groupby(["noise", "method"])[["final", "best", "early_stop", "stop_epoch"]].agg(["mean", "std"])
    table.columns = [f"{value}_{stat}" for value, stat in table.columns]
    return table.reset_index()


def aux_margins(table: pd.DataFrame, min_noise: float) -> pd.DataFrame:
    """AUX (final) minus normal training with early stopping, per loss and noise level >= min_noise."""
    rows = []
    for base, aux in AUX_OF.items():
        for noise in sorted(table["noise"].unique()):
            if noise < min_noise - 1e-9:
                continue
            at = table[np.isclose(table["noise"], noise)].set_index("method")
            if base in at.index and aux in at.index:
                rows.append({"loss": base, "noise": noise, "aux_final": at.loc[aux, "final_mean"],
                             "early_stop": at.loc[base, "early_stop_mean"],
                             "margin": at.loc[aux, "final_mean"] - at.loc[base, "early_stop_mean"]})
    return pd.DataFrame(rows)


def paired_margins(runs: pd.DataFrame, min_noise: float) -> pd.DataFrame:
    """AUX (final epoch) minus normal training (early-stopped), per loss, noise level >= ``min_noise``
    and replicate: the two runs of a replicate share the initialisation, the batch order and the
    noisy labels (experiments.noisy_labels), so the difference is paired."""
    frames = []
    for base, aux in AUX_OF.items():
        normal = runs[runs["method"] == base].set_index(["noise", "replicate"])["early_stop"]
        regularised = runs[runs["method"] == aux].set_index(["noise", "replicate"])["final"]
        margin = (regularised - normal).dropna()
        frames.append(margin.rename("margin").reset_index().assign(loss=base))
    margins = pd.concat(frames, ignore_index=True)
    return margins[margins["noise"] >= min_noise - 1e-9].sort_values(["loss", "noise", "replicate"])


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    margins = paired_margins(per_run(read_histories(out_dir)), CLAIM_MIN_NOISE)
    if margins.empty:
        return [not_testable(FIGURE_ID, "aux-beats-early-stop", scale,
                             f"no noise level >= {CLAIM_MIN_NOISE:g} ran with both a normal and an AUX method")]
    cells = {f"{LABELS[AUX_OF[loss]]} p={noise:g}": rows["margin"].to_list()
             for (loss, noise), rows in margins.groupby(["loss", "noise"])}
    means = "; ".join(f"{name}: {np.mean(values):+.1f}" for name, values in cells.items())
    return [decide_every(FIGURE_ID, "aux-beats-early-stop", cells, scale, noun="cell",
                         details=f"AUX final - early stop, mean over seeds (points): {means}")]


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: SGD epochs x training images x network cost
    (channels^2 x pixels x blocks), over every run including the lambda search."""
    spec = settings["network"]
    per_image = settings["image_size"] ** 2 * sum(
        blocks * channels ** 2 for blocks, channels in zip(spec["stage_blocks"], spec["stage_channels"]))
    regularised = sum(m in ("ce_aux", "mse_aux", "mse_rdi") for m in settings["methods"])
    runs = len(settings["noise_levels"]) * len(settings["methods"]) * settings["seeds"]
    runs += regularised * len(settings["lambda_grid"])
    return float(runs * settings["epochs"] * settings["n_train"] * per_image)
