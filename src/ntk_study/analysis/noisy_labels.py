"""tab-noisy-labels: test accuracy by noise level and method, and the claims that AUX and RDI beat
early stopping. Shared with fig-noisy-labels-curve: the per-run statistics and the premise.

Read from ``histories.csv`` (experiments.noisy_labels). Accuracies are in percent. Per run:
- "final": the mean test accuracy over the last ``FINAL_EPOCHS`` epochs (one epoch's accuracy
  wiggles by a point or more);
- "clean stop": the test accuracy at the epoch with the best accuracy on the clean validation set
  (ties: the earliest), the published baseline (early stopping "needs a clean validation set");
- "noisy stop": the same with the held-out *noisy* labels instead, the weaker baseline;
- "best": the best test accuracy over the epochs, an oracle shown only to measure how much stopping
  could gain (on a flat noisy curve it lies above the final accuracy by noise alone, so no claim
  uses it).
How much a run overfits is "clean stop" minus "final": both are honest estimates of a test
accuracy (the stopping epoch is chosen on other data), so on a curve that does not fall the
difference is noise around zero. Means and standard deviations are over replicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ntk_study.claims import ClaimRow, decide_every, not_testable

FIGURE_ID = "tab-noisy-labels"
CURVE_ID = "fig-noisy-labels-curve"  # the figure whose claim "normal training overfits" is the premise
# The claim's premise: "at noise >= 0.2" (the catalogue states it).
CLAIM_MIN_NOISE = 0.2
# The noise of the lecture's curve: normal training must overfit there for the AUX claims to test
# anything (tab-noisy-labels and fig-noisy-labels-curve decide it the same way).
PREMISE_NOISE = 0.4
FINAL_EPOCHS = 5
NORMAL = ("ce", "mse")
AUX_OF = {"ce": "ce_aux", "mse": "mse_aux"}
RDI_OF = {"mse": "mse_rdi"}
REGULARISED = ("ce_aux", "mse_aux", "mse_rdi")
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
    for column in ("test_accuracy", "validation_accuracy", "clean_validation_accuracy", "train_accuracy"):
        histories[column] = 100 * histories[column]
    return histories


def per_run(histories: pd.DataFrame) -> pd.DataFrame:
    """One row per (noise, method, replicate): final, clean-stop, noisy-stop and best test accuracy,
    the stopping epochs, the final fit of the noisy training labels and whether AUX diverged."""
    rows = []
    for (noise, method, replicate), run in histories.groupby(["noise", "method", "replicate"]):
        run = run.sort_values("epoch").reset_index(drop=True)
        clean = run.loc[run["clean_validation_accuracy"].idxmax()]  # first maximum: the earliest epoch
        noisy = run.loc[run["validation_accuracy"].idxmax()]
        rows.append({"noise": noise, "method": method, "replicate": replicate,
                     "final": run["test_accuracy"].iloc[-FINAL_EPOCHS:].mean(), "best": run["test_accuracy"].max(),
                     "clean_stop": clean["test_accuracy"], "clean_stop_epoch": int(clean["epoch"]),
                     "noisy_stop": noisy["test_accuracy"], "noisy_stop_epoch": int(noisy["epoch"]),
                     "train_fit": run["train_accuracy"].iloc[-1],
                     "diverged": not np.isfinite(run[["aux_rms", "test_accuracy"]].to_numpy()).all()})
    runs = pd.DataFrame(rows)
    return runs.assign(overfit=runs["clean_stop"] - runs["final"])


def summary(histories: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over replicates of the per-run statistics per (noise, method)."""
    runs = per_run(histories)
    columns = ["final", "clean_stop", "noisy_stop", "best", "overfit", "clean_stop_epoch", "train_fit"]
    table = runs.groupby(["noise", "method"])[columns].agg(["mean", "std"])
    table.columns = [f"{value}_{stat}" for value, stat in table.columns]
    return table.reset_index()


def at_noise(runs: pd.DataFrame, noise: float) -> pd.DataFrame:
    return runs[np.isclose(runs["noise"], noise)].sort_values("replicate")


def overfit_groups(runs: pd.DataFrame, methods: tuple[str, ...] | list[str], noise: float) -> dict[str, list[float]]:
    """Per method run at ``noise``: clean stop minus final (points), one value per replicate."""
    chosen = at_noise(runs, noise)
    return {LABELS[m]: rows["overfit"].to_list() for m, rows in chosen.groupby("method") if m in methods}


def premise_noise(runs: pd.DataFrame) -> float:
    """The lecture's 40% when it was run, else the largest noise level run."""
    levels = runs["noise"].unique()
    return PREMISE_NOISE if np.isclose(levels, PREMISE_NOISE).any() else float(levels.max())


def normal_overfits(figure_id: str, runs: pd.DataFrame, noise: float, scale: str) -> ClaimRow:
    """The premise of every AUX / RDI claim: plain CCE and MSE training overfit the noisy labels at
    ``noise`` (fig-noisy-labels-curve's claim; tab-noisy-labels checks it the same way)."""
    groups = overfit_groups(runs, NORMAL, noise)
    if not groups:
        return not_testable(figure_id, "normal-overfits", scale, f"no normal training ran at p = {noise:g}")
    return decide_every(figure_id, "normal-overfits", groups, scale, noun="loss",
                        details=f"clean stop - final at p = {noise:g}, mean over replicates (points): "
                        + means_text(groups) + fit_text(runs, NORMAL, noise))


def means_text(groups: dict[str, list[float]]) -> str:
    return ", ".join(f"{name} {np.mean(values):+.1f}" for name, values in groups.items())


def fit_text(runs: pd.DataFrame, methods, noise: float) -> str:
    """How far the runs fit their noisy training labels (memorising means near 100%)."""
    chosen = at_noise(runs, noise)
    fits = chosen[chosen["method"].isin(methods)].groupby("method")["train_fit"].mean()
    return "; final fit of the noisy training labels: " + ", ".join(f"{LABELS[m]} {v:.0f}%" for m, v in fits.items())


def diverged_text(runs: pd.DataFrame) -> str:
    """How many AUX / RDI runs diverged (a non-finite sqrt(lambda) b or accuracy): the grid stays
    below the AUX stability limit, so this should read none."""
    regularised = runs[runs["method"].isin(REGULARISED)]
    return f"; diverged runs: {int(regularised['diverged'].sum())} of {len(regularised)}"


def paired_margins(runs: pd.DataFrame, pairs: dict[str, str], baseline: str, min_noise: float) -> pd.DataFrame:
    """Regularised method (final) minus its normal loss at ``baseline`` ("clean_stop" or
    "noisy_stop"), per pair, noise level >= ``min_noise`` and replicate: the two runs of a replicate
    share the initialisation, the batch order and the noisy labels, so the difference is paired."""
    frames = []
    for base, regularised in pairs.items():
        normal = runs[runs["method"] == base].set_index(["noise", "replicate"])[baseline]
        treated = runs[runs["method"] == regularised].set_index(["noise", "replicate"])["final"]
        margin = (treated - normal).dropna()
        frames.append(margin.rename("margin").reset_index().assign(loss=base, method=regularised))
    margins = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["noise", "margin"])
    return margins[margins["noise"] >= min_noise - 1e-9].sort_values(["method", "noise", "replicate"])


# key -> (pairs of normal loss and regularised method, the normal run's stopping rule)
BEATS = {
    "aux-beats-early-stop": (AUX_OF, "clean_stop"),
    "aux-beats-noisy-stop": (AUX_OF, "noisy_stop"),
    "rdi-beats-early-stop": (RDI_OF, "clean_stop"),
}


def regularised_claims(figure_id: str, runs: pd.DataFrame, scale: str) -> list[ClaimRow]:
    """AUX / RDI (final) against normal training stopped early, each cell (method, noise >= 0.2)
    decided from its paired per-replicate margins; "not testable" where normal training does not
    overfit (then stopping early has nothing to gain, and a margin says nothing about AUX)."""
    premise = normal_overfits(CURVE_ID, runs, premise_noise(runs), scale)
    rows = []
    for key, (pairs, baseline) in BEATS.items():
        if premise.verdict != "holds":
            rows.append(not_testable(figure_id, key, scale, "the premise does not hold at this scale: normal "
                                     f"training overfits is {premise.verdict} ({premise.details})"))
            continue
        margins = paired_margins(runs, pairs, baseline, CLAIM_MIN_NOISE)
        if margins.empty:
            rows.append(not_testable(figure_id, key, scale, f"no noise level >= {CLAIM_MIN_NOISE:g} ran with "
                                     "both methods of a pair"))
            continue
        cells = {f"{LABELS[method]} p={noise:g}": cell["margin"].to_list()
                 for (method, noise), cell in margins.groupby(["method", "noise"])}
        rule = "clean-validation" if baseline == "clean_stop" else "noisy-held-out"
        rows.append(decide_every(figure_id, key, cells, scale, noun="cell",
                                 details=f"final - normal at its {rule} stop, mean over replicates (points): "
                                 + means_text(cells) + diverged_text(runs)))
    return rows


def claims(out_dir: Path, settings: dict[str, Any], scale: str) -> list[ClaimRow]:
    return regularised_claims(FIGURE_ID, per_run(read_histories(out_dir)), scale)


def work(settings: dict[str, Any]) -> float:
    """Stated scaling of the compute rule: SGD epochs x training images x network cost (a ResNet:
    channels^2 x pixels x blocks; a fully-connected net: its weights), over every run including the
    lambda search."""
    spec = settings[settings["network"]]
    if settings["network"] == "fully_connected":
        per_image = settings["image_size"] ** 2 * spec["width"] + (spec["depth"] - 1) * spec["width"] ** 2
    else:
        per_image = settings["image_size"] ** 2 * sum(
            blocks * channels ** 2 for blocks, channels in zip(spec["stage_blocks"], spec["stage_channels"]))
    regularised = sum(m in REGULARISED for m in settings["methods"])
    runs = len(settings["noise_levels"]) * len(settings["methods"]) * settings["seeds"]
    runs += regularised * len(settings["lambda_grid"]) * settings["selection_seeds"]
    return float(runs * settings["epochs"] * settings["n_train"] * per_image)
