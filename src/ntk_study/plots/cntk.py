"""tab-cntk: few-shot accuracy against n (CNTK and CNN, both readouts) and accuracy by depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import NullFormatter

from ntk_study.analysis.cntk import PUBLISHED, depth_trend, summary
from ntk_study.io import save_text
from ntk_study.plots.style import apply_style, save_figure

STYLES = {("CNTK", "gap"): ("CNTK-GAP", "C0", "-"), ("CNTK", "vanilla"): ("CNTK-V", "C1", "-"),
          ("CNN", "gap"): ("CNN-GAP", "C0", "--"), ("CNN", "vanilla"): ("CNN-V", "C1", "--")}


def plot(out_dir: Path, settings: dict[str, Any]) -> None:
    table = summary(out_dir)
    apply_style()
    fig, (shot_ax, depth_ax) = plt.subplots(1, 2, figsize=(14, 5))
    depth = settings["few_shot_depth"]
    for (model, readout), (label, color, line) in STYLES.items():
        rows = table[(table["model"] == model) & (table["readout"] == readout) & (table["depth"] == depth)]
        shot_ax.errorbar(rows["n_train"], rows["mean"], yerr=rows["se"], color=color, ls=line, marker="o",
                         ms=4, capsize=3, label=label)
    shot_ax.set_xscale("log")
    shot_ax.set_xticks(settings["train_sizes"], [str(n) for n in settings["train_sizes"]])
    shot_ax.xaxis.set_minor_formatter(NullFormatter())
    shot_ax.set_xlabel("training images")
    shot_ax.set_ylabel("test accuracy (%), mean ± s.e. over draws")
    shot_ax.set_title(f"few-shot CIFAR-10, depth {depth}, {settings['image_size']}x{settings['image_size']} "
                      f"images, {settings['draws']} draws x {settings['n_test']:,} test images")
    shot_ax.legend(fontsize=9)
    trend = depth_trend(out_dir, settings)
    largest = int(trend["n_train"].max())
    for (model, readout), (label, color, line) in STYLES.items():
        rows = trend[(trend["model"] == model) & (trend["readout"] == readout)]
        if len(rows):
            depth_ax.errorbar(rows["depth"], rows["mean"], yerr=rows["se"], color=color, ls=line, marker="o",
                              capsize=3, label=f"{label} (ours), n = {largest}")
    for column, color in (("CNTK-GAP", "C0"), ("CNTK-V", "C1")):
        depth_ax.plot(PUBLISHED["depth"], PUBLISHED[column], color=color, ls=":", marker="s", ms=4,
                      label=f"{column}, published (full CIFAR-10)")
    depth_ax.set_xscale("log")
    depth_ax.set_xticks(sorted(set(PUBLISHED["depth"]) | set(settings["depths"])),
                        [str(d) for d in sorted(set(PUBLISHED["depth"]) | set(settings["depths"]))])
    depth_ax.xaxis.set_minor_formatter(NullFormatter())
    depth_ax.set_xlabel("depth (convolutions + 1, as the reference code counts)")
    depth_ax.set_ylabel("test accuracy (%)")
    depth_ax.set_title("accuracy by depth")
    depth_ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    write_table(out_dir, settings)


def write_table(out_dir: Path, settings: dict[str, Any]) -> None:
    table = summary(out_dir)
    table["cell"] = table.apply(lambda r: f"{r['mean']:.1f} ± {0 if r['count'] < 2 else r['se']:.1f}", axis=1)
    table["column"] = table["model"] + "-" + table["readout"].map({"gap": "GAP", "vanilla": "V"}) + \
        " L" + table["depth"].astype(str)
    wide = table.pivot(index="n_train", columns="column", values="cell").reset_index()
    published = PUBLISHED.to_markdown(index=False)
    text = (f"**Test accuracy (%), mean ± standard error over {settings['draws']} draws** (each draw: its own "
            f"training images and {settings['n_test']:,} test images of its own), **by training-set size.** "
            "Depth L = L − 1 convolutions + the readout, as the reference code counts.\n\n"
            + wide.to_markdown(index=False) + "\n\n" + cnn_training_table(out_dir, settings)
            + "\n\n**Published (Arora et al. 2019, full CIFAR-10, 32x32), by depth:**\n\n" + published + "\n")
    if settings.get("full"):
        text += "\n" + full_table(out_dir, settings)
    save_text(out_dir / "table.md", text)


def cnn_training_table(out_dir: Path, settings: dict[str, Any]) -> str:
    """The finite CNN's learning rate picked per (n, readout) on held-out training images, its
    validation accuracy there, and how its runs over the draws ended."""
    cnn = pd.read_csv(out_dir / "accuracies.csv")
    cnn = cnn[cnn["model"] == "CNN"].astype({"converged": bool})
    table = cnn.groupby(["n_train", "readout"]).agg(
        learning_rate=("learning_rate", "first"), validation_accuracy=("validation_accuracy", "first"),
        converged=("converged", "mean"), steps=("steps", "median"), train_loss=("train_loss", "max")).reset_index()
    table["converged"] = (100 * table["converged"]).round().astype(int).astype(str) + "%"
    grid = ", ".join(f"{rate:g}" for rate in settings["cnn"]["learning_rates"])
    return (f"**Finite CNN (depth {settings['few_shot_depth']}, width {settings['cnn']['width']}):** Adam learning "
            f"rate picked per (n, readout) from {{{grid}}} by the accuracy on "
            f"{settings['cnn']['validation_images']:,} held-out training images; trained until the training loss "
            f"< {settings['cnn']['stop_loss']:g} (at most {settings['cnn']['max_steps']:,} steps). Runs over the draws "
            "that got there, median steps and the largest final training loss:\n\n"
            + table.round({"validation_accuracy": 1, "steps": 0}).to_markdown(index=False, floatfmt="g"))


def full_table(out_dir: Path, settings: dict[str, Any]) -> str:
    """The full-CIFAR setting by depth, ours beside the published CNTK accuracies."""
    trend = depth_trend(out_dir, settings)
    names = {("CNTK", "vanilla"): "CNTK-V", ("CNTK", "gap"): "CNTK-GAP", ("CNN", "vanilla"): "CNN-V",
             ("CNN", "gap"): "CNN-GAP"}
    trend["column"] = [names[key] + " (ours)" for key in zip(trend["model"], trend["readout"])]
    wide = trend.pivot(index="depth", columns="column", values="mean").round(2).reset_index()
    wide = wide.merge(PUBLISHED.rename(columns={"CNTK-V": "CNTK-V (published)", "CNTK-GAP": "CNTK-GAP (published)"}),
                      on="depth", how="left")
    columns = ["depth"] + [c for name in ("CNTK-V", "CNTK-GAP", "CNN-V", "CNN-GAP")
                           for c in (f"{name} (ours)", f"{name} (published)") if c in wide.columns]
    full = settings["full"]
    return (f"**Full setting: {full['n_train']:,} training and {full['n_test']:,} test images, "
            f"{settings['image_size']}x{settings['image_size']}, one run, test accuracy (%) by depth** "
            "(published CNN accuracies: CNN-V 59.97 … 75.57%, CNN-GAP 63.81 … 83.30% over the depths):\n\n"
            + wide[columns].astype(object).where(wide[columns].notna(), "–").to_markdown(index=False) + "\n")
