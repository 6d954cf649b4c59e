"""tab-cntk: few-shot accuracy against n (CNTK and CNN, both readouts) and accuracy by depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter

from ntk_study.analysis.cntk import PUBLISHED, summary
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
        shot_ax.errorbar(rows["n_train"], rows["mean"], yerr=rows["std"], color=color, ls=line, marker="o",
                         ms=4, capsize=3, label=label)
    shot_ax.set_xscale("log")
    shot_ax.set_xticks(settings["train_sizes"], [str(n) for n in settings["train_sizes"]])
    shot_ax.xaxis.set_minor_formatter(NullFormatter())
    shot_ax.set_xlabel("training images")
    shot_ax.set_ylabel("test accuracy (%)")
    shot_ax.set_title(f"few-shot CIFAR-10, depth {depth}, {settings['image_size']}x{settings['image_size']} "
                      f"images, {settings['draws']} draws")
    shot_ax.legend(fontsize=9)
    largest = max(settings["train_sizes"])
    for readout, (label, color) in {"gap": ("CNTK-GAP (ours)", "C0"), "vanilla": ("CNTK-V (ours)", "C1")}.items():
        rows = table[(table["model"] == "CNTK") & (table["readout"] == readout) & (table["n_train"] == largest)]
        depth_ax.errorbar(rows["depth"], rows["mean"], yerr=rows["std"], color=color, marker="o", capsize=3,
                          label=f"{label}, n = {largest}")
    for column, color in (("CNTK-GAP", "C0"), ("CNTK-V", "C1")):
        depth_ax.plot(PUBLISHED["depth"], PUBLISHED[column], color=color, ls=":", marker="s", ms=4,
                      label=f"{column}, published (full CIFAR-10)")
    depth_ax.set_xscale("log")
    depth_ax.set_xticks(sorted(set(PUBLISHED["depth"]) | set(settings["depths"])),
                        [str(d) for d in sorted(set(PUBLISHED["depth"]) | set(settings["depths"]))])
    depth_ax.xaxis.set_minor_formatter(NullFormatter())
    depth_ax.set_xlabel("depth (convolutions)")
    depth_ax.set_ylabel("test accuracy (%)")
    depth_ax.set_title("accuracy by depth")
    depth_ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_dir / "figure.png")
    write_table(out_dir, settings)


def write_table(out_dir: Path, settings: dict[str, Any]) -> None:
    table = summary(out_dir)
    table["cell"] = table.apply(lambda r: f"{r['mean']:.1f} ± {0 if r['count'] < 2 else r['std']:.1f}", axis=1)
    table["column"] = table["model"] + "-" + table["readout"].map({"gap": "GAP", "vanilla": "V"}) + \
        " L" + table["depth"].astype(str)
    wide = table.pivot(index="n_train", columns="column", values="cell").reset_index()
    published = PUBLISHED.to_markdown(index=False)
    text = ("**Test accuracy (%), mean ± std over draws, by training-set size.**\n\n" + wide.to_markdown(index=False)
            + "\n\n**Published (Arora et al. 2019, full CIFAR-10, 32x32), by depth:**\n\n" + published + "\n")
    save_text(out_dir / "table.md", text)
