"""Registry of the regenerated figures: which module computes each, which files it writes.

The workflow builds three rules per entry from this table (compute, claims, plot), so adding a
figure means writing its experiment and plot modules and one entry here.

Per figure, three modules named alike: ``ntk_study.experiments.<name>`` provides
``compute(settings, seed, out_dir, prepared)`` (writes the data files into ``out_dir``; the only
one that needs JAX), ``ntk_study.analysis.<name>`` provides ``claims(out_dir, settings, scale)``
(metric extraction into claim rows), and ``ntk_study.plots.<name>`` provides
``plot(out_dir, settings)`` (writes the image files).

Kernel tables (``kernel_files`` set) have a fourth stage before compute: the experiment module's
``kernels(settings, seed, out_dir, prepared)`` writes the Gram matrices as result files, and
``compute`` (the classifiers) only reads them, so a change of classifier never recomputes a kernel.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

# Written by every compute job beside its data files: startup and computation seconds.
TIMING_FILE = "compute_timing.json"
KERNEL_TIMING_FILE = "kernel_timing.json"


@dataclass(frozen=True)
class FigureJob:
    id: str
    # Module name under ntk_study.experiments, .analysis and .plots (figures may share one).
    name: str
    data_files: tuple[str, ...]
    image_files: tuple[str, ...] = ("figure.png",)
    # Markdown tables the plot stage writes beside the images (the book shows them inline).
    table_files: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()  # prepared datasets read (resources/prepared/<name>.npz)
    # Finite-width training or heavy kernels: the compute job asks for the config's
    # "accelerated" resources (a GPU on a cluster) instead of "compute".
    accelerated: bool = True
    # Kernel files written by the kernels stage (read by compute); empty: no kernels stage.
    kernel_files: tuple[str, ...] = ()
    # Graph tables: the settings' "datasets" names TU graph sets, read as prepared "tu-<NAME>".
    graph_sets_in_settings: bool = False
    # The settings' "dataset" names the one prepared image dataset read (the scale chooses it).
    dataset_in_settings: bool = False
    # The settings may hold a "full" section (tab-cntk's full-CIFAR setting): its own rules
    # (workflow/rules/cntk_full.smk) write more data files, named by the analysis module's
    # ``full_data_files(settings)``, which the claims and plot stages read too.
    full_setting: bool = False
    # Figures drawn from another figure's runs: the id whose compute rule writes this figure's
    # data files. Such a figure has no compute rule; the workflow copies those files into its
    # own results folder, which its claims and plot stages read.
    data_from: str = ""
    # Figures whose compute reads another figure's results (e.g. its checkpoints): that figure's
    # id. Its data files are inputs of this figure's compute rule, which reads them from
    # results/<inputs_from>/.
    inputs_from: str = ""

    def prepared_datasets(self, settings: dict) -> tuple[str, ...]:
        """Every prepared dataset the figure reads, given its config section."""
        graph_sets = tuple(f"tu-{name}" for name in settings["datasets"]) if self.graph_sets_in_settings else ()
        chosen = (settings["dataset"],) if self.dataset_in_settings else ()
        return self.datasets + chosen + graph_sets

    def data_outputs(self, settings: dict) -> tuple[str, ...]:
        """Every data file the claims and plot stages read, given the figure's config section."""
        extra = self.analysis().full_data_files(settings) if self.full_setting else ()
        return (*self.data_files, *extra)

    @property
    def compute_outputs(self) -> tuple[str, ...]:
        return (*self.data_files, TIMING_FILE)

    @property
    def plot_outputs(self) -> tuple[str, ...]:
        return (*self.image_files, *self.table_files)

    @property
    def kernel_outputs(self) -> tuple[str, ...]:
        return (*self.kernel_files, KERNEL_TIMING_FILE) if self.kernel_files else ()

    @property
    def rule_prefix(self) -> str:
        return self.id.replace("-", "_")

    def experiment(self) -> ModuleType:
        return importlib.import_module(f"ntk_study.experiments.{self.name}")

    def analysis(self) -> ModuleType:
        return importlib.import_module(f"ntk_study.analysis.{self.name}")

    def plotter(self) -> ModuleType:
        return importlib.import_module(f"ntk_study.plots.{self.name}")


REGISTRY: dict[str, FigureJob] = {
    job.id: job
    for job in [
        FigureJob("fig-imagenet-winners", "imagenet_winners", ("winners.csv",), accelerated=False),
        FigureJob("fig-random-labels", "random_labels", ("curves.csv",), datasets=("cifar10",)),
        FigureJob("fig-overparam", "overparam", ("errors.csv",), datasets=("cifar10",)),
        FigureJob("fig-lemma1-dynamics", "lemma1_dynamics", ("errors.csv", "output_changes.csv")),
        FigureJob("fig-ntk-init", "ntk_init", ("distances.csv",)),
        FigureJob("fig-ntk-stability", "ntk_stability", ("loss_curves.csv", "movement.csv")),
        FigureJob("fig-kernel-regression", "kernel_regression", ("predictions.csv", "kernel_movement.csv"),
                  ("figure.png", "kernel_movement.png")),
        FigureJob("fig-convergence-mnist", "convergence", ("curves.csv",), datasets=("mnist",)),
        FigureJob("fig-convergence-cifar", "convergence", ("curves.csv",), datasets=("cifar10",)),
        FigureJob("fig-projections-mnist", "projections", ("spectrum.csv",), datasets=("mnist",)),
        FigureJob("fig-projections-cifar", "projections", ("spectrum.csv",), datasets=("cifar10",)),
        FigureJob("fig-generalization-bound", "generalization_bound", ("bound.csv",),
                  datasets=("mnist", "cifar10")),
        FigureJob("tab-noisy-labels", "noisy_labels", ("histories.csv", "selection.csv"),
                  table_files=("table.md",), dataset_in_settings=True),
        FigureJob("fig-noisy-labels-curve", "noisy_labels_curve", ("histories.csv",),
                  data_from="tab-noisy-labels"),
        FigureJob("fig-aux-is-ridge", "aux_ridge", ("predictions.csv", "runs.csv"), datasets=("mnist",)),
        # No kernels stage: its float64 kernels are computed per task in compute (see experiments.uci).
        FigureJob("tab-uci", "uci", ("accuracies.csv",), table_files=("table.md",), datasets=("uci121",)),
        FigureJob("tab-gntk", "gntk", ("accuracies.csv", "grid.csv"), table_files=("table.md",),
                  kernel_files=("kernels.npz", "kernel_times.csv"), graph_sets_in_settings=True),
        FigureJob("tab-cntk", "cntk", ("accuracies.csv",), table_files=("table.md",), datasets=("cifar10",),
                  kernel_files=("kernels.npz", "kernel_times.csv"), full_setting=True),
        FigureJob("fig-phase-ntk-change", "phase_ntk_change", ("changes.csv",)),
        FigureJob("fig-ntk-structure", "ntk_structure", ("curves.csv", "probe_ntk.npz"), datasets=("mnist",)),
        FigureJob("fig-kernel-velocity", "kernel_velocity", ("history.csv", "probe_ntk.npz", "checkpoints.npz",
                                                            "run.json"), datasets=("cifar10",)),
        FigureJob("fig-parent-child", "parent_child", ("children.csv", "tangent_kernels.npz",
                                                      "paths.csv", "sharpness.csv"),
                  ("figure.png", "landscape.png"), datasets=("cifar10",), inputs_from="fig-kernel-velocity"),
    ]
}
