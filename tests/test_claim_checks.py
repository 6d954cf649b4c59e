"""Every claim check of chapters 1-3 can fail: synthetic result files in the real formats, built so
that each replicate's statistic takes a chosen value, give "holds" where the sentence is true,
"fails" where it is false and "undecided" where the replicates straddle the threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from ntk_study.analysis import (
    convergence,
    generalization_bound,
    kernel_regression,
    lemma1_dynamics,
    ntk_init,
    ntk_stability,
    overparam,
    projections,
    random_labels,
)
from ntk_study.analysis.random_labels import order_margin

WIDTHS = [64, 256, 1024, 4096]


def _slope_data(slope: float) -> np.ndarray:
    """Values on WIDTHS whose log-log slope is ``slope``."""
    return 2.0 * np.asarray(WIDTHS, dtype=float) ** slope


def random_labels_files(statistic: str) -> Callable[[Path, list[float]], None]:
    def write(out_dir: Path, values: list[float]) -> None:
        rows = []
        for seed, value in enumerate(values):
            if statistic == "all-fit":
                steps = dict.fromkeys(random_labels_conditions(), 100)
                accuracy = {c: 1.0 for c in steps} | {"random labels": value}
            else:  # order: the middle conditions sit `value` x s_random after true labels
                steps = {"true labels": 100, "random labels": 1000}
                steps |= {c: 100 + value * 1000 for c in random_labels_conditions()[1:-1]}
                accuracy = dict.fromkeys(steps, 1.0)
            for condition, step in steps.items():
                rows += [{"seed": seed, "condition": condition, "step": 0, "loss": 2.3, "accuracy": 0.1},
                         {"seed": seed, "condition": condition, "step": step, "loss": 0.05,
                          "accuracy": accuracy[condition]}]
        pd.DataFrame(rows).to_csv(out_dir / "curves.csv", index=False)
    return write


def random_labels_conditions() -> list[str]:
    # ntk_study.experiments.random_labels.CONDITIONS, without importing JAX for it
    return ["true labels", "shuffled pixels", "random pixels", "Gaussian", "random labels"]


def overparam_files(out_dir: Path, values: list[float]) -> None:
    """value > 0: test error rises with width; < 0: falls; 0: a shuffled order."""
    widths = [8, 32, 128, 512, 2048]
    rows = []
    for seed, value in enumerate(values):
        order = np.arange(len(widths)) if value > 0 else np.arange(len(widths))[::-1]
        if value == 0:
            order = np.random.default_rng(seed).permutation(len(widths))
        rows += [{"seed": seed, "width": w, "epochs": 10, "train_loss": 0.0, "train_error": 0.0,
                  "test_error": 0.5 + 0.01 * rank} for w, rank in zip(widths, order)]
    pd.DataFrame(rows).to_csv(out_dir / "errors.csv", index=False)


def lemma1_files(out_dir: Path, values: list[float]) -> None:
    etas = np.array([0.01, 0.03, 0.1, 0.3])
    rows = [{"replicate": r, "step_size_multiple": eta, "step": k, "relative_error": 0.5 * eta**value}
            for r, value in enumerate(values) for eta in etas for k in range(2)]
    pd.DataFrame(rows).to_csv(out_dir / "errors.csv", index=False)


def ntk_init_files(statistic: str) -> Callable[[Path, list[float]], None]:
    def write(out_dir: Path, values: list[float]) -> None:
        rows = []
        for r, value in enumerate(values):
            distance = _slope_data(value if statistic == "slope" else -0.5)
            ratio = value if statistic == "below-bound" else 0.1
            rows += [{"activation": "relu", "input_set": 0, "replicate": r, "width": w, "spectral_distance": d,
                      "bound": d / ratio} for w, d in zip(WIDTHS, distance)]
        pd.DataFrame(rows).to_csv(out_dir / "distances.csv", index=False)
    return write


def ntk_stability_files(statistic: str) -> Callable[[Path, list[float]], None]:
    column = {"weight-slope": "max_weight_change", "kernel-slope": "kernel_change",
              "pattern-slope": "pattern_change_fraction"}.get(statistic)

    def write(out_dir: Path, values: list[float]) -> None:
        rows = []
        for r, value in enumerate(values):
            table = pd.DataFrame({"replicate": r, "width": WIDTHS, "max_weight_change": _slope_data(-0.5),
                                  "kernel_change": _slope_data(-0.5), "pattern_change_fraction": _slope_data(-0.5),
                                  "final_loss": 0.01})
            if column:
                table[column] = _slope_data(value)
            else:  # wider-no-slower: the widest net ends at `value` x the narrowest's loss
                table.loc[table["width"] == max(WIDTHS), "final_loss"] = 0.01 * value
            rows.append(table)
        pd.concat(rows).to_csv(out_dir / "movement.csv", index=False)
    return write


def kernel_regression_files(statistic: str) -> Callable[[Path, list[float]], None]:
    def write(out_dir: Path, values: list[float]) -> None:
        predictions, movement = [], []
        for r, value in enumerate(values):
            gap = _slope_data(value if statistic == "gap-shrinks" else -0.5)
            predictions += [{"width": w, "replicate": r, "step": 100, "time": 1.0, "point": 0, "network": g,
                             "ntk": 0.0} for w, g in zip(WIDTHS, gap)]
            change = {64: 0.1, 4096: 0.1 * (value if statistic == "wide-kernel-moves-less" else 0.2)}
            movement += [{"width": w, "replicate": r, "gamma": g, "before": 1.0, "after": 1.0 + c}
                         for w, c in change.items() for g in (0.0, 1.0)]
        pd.DataFrame(predictions).to_csv(out_dir / "predictions.csv", index=False)
        pd.DataFrame(movement).to_csv(out_dir / "kernel_movement.csv", index=False)
    return write


def convergence_files(statistic: str) -> Callable[[Path, list[float]], None]:
    """Predicted loss 100 * 0.9^k at every width; true labels measured on it; random labels at a
    rate chosen so that they halve `value` times later (true-faster), or a relative gap that falls
    with the width at log-log slope `value` (prediction-tracks, in every label set)."""
    def write(out_dir: Path, values: list[float]) -> None:
        rows = []
        steps = np.arange(0, 400, 1)
        for run, value in enumerate(values):
            gaps = _slope_data(value if statistic == "prediction-tracks" else -0.5) / 20
            for width, gap in zip(WIDTHS, gaps):
                for name in convergence.LABEL_SETS:
                    predicted = 100 * 0.9**steps
                    fall = 1 - np.sqrt(predicted[-1] / 100)
                    measured = (np.sqrt(predicted / 100) + gap * fall * np.minimum(steps / 10, 1)) ** 2 * 100
                    if statistic == "true-faster" and name == "random":
                        measured = 100 * 0.9 ** (steps / value)
                    rows += [{"labels": name, "width": width, "run": run, "step": k, "predicted": p,
                              "predicted_initial": p, "measured": m} for k, p, m in zip(steps, predicted, measured)]
        pd.DataFrame(rows).to_csv(out_dir / "curves.csv", index=False)
    return write


def projections_files(out_dir: Path, values: list[float]) -> None:
    """The true labels' share of ||y||^2 sits at rank fraction `value` (all of it on one
    eigenvector); random labels spread uniformly."""
    n = 100
    rows = []
    for subset, value in enumerate(values):
        true = np.zeros(n)
        true[int(round(value * n)) - 1] = n
        rows.append(pd.DataFrame({"subset": subset, "index": np.arange(1, n + 1), "eigenvalue": np.arange(n, 0, -1),
                                  "projection_true": true, "projection_random": np.ones(n),
                                  "projection_worst": np.eye(n)[-1] * n}))
    pd.concat(rows).to_csv(out_dir / "spectrum.csv", index=False)


# Orders of six values over the noise levels, by their Spearman correlation with p.
SWEEP_ORDERS = {1.0: [0, 1, 2, 3, 4, 5], -1.0: [5, 4, 3, 2, 1, 0], 0.486: [3, 1, 2, 0, 4, 5]}


def generalization_files(statistic: str) -> Callable[[Path, list[float]], None]:
    """Each replicate's quantity follows the order over p whose Spearman correlation is its value."""
    def write(out_dir: Path, values: list[float]) -> None:
        noise = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        rows = []
        for draw, value in enumerate(values):
            order = SWEEP_ORDERS[value]
            column = "complexity" if statistic == "complexity-grows" else "network_test_error"
            rows += [{"dataset": "mnist", "noise": p, "draw": draw, "complexity": 1 + p, "network_test_error": 0.1 + p,
                      "kernel_test_error": 0.1, "final_loss_fraction": 0.005} | {column: 0.1 * rank + 0.01 * draw}
                     for p, rank in zip(noise, order)]
        pd.DataFrame(rows).to_csv(out_dir / "bound.csv", index=False)
    return write


# (figure, claim key, module, writer, settings, per-replicate values: holds / fails / undecided)
CASES = [
    ("fig-random-labels", "all-fit", random_labels, random_labels_files("all-fit"), {"loss_threshold": 0.1},
     ([1.0, 1.0, 0.998, 1.0], [0.5, 0.6, 0.55, 0.4], [0.95, 1.0, 1.0, 0.97])),
    ("fig-random-labels", "order", random_labels, random_labels_files("order"), {"loss_threshold": 0.1},
     ([0.3, 0.35, 0.25, 0.3], [-0.05, -0.06, -0.04, -0.05], [0.1, -0.09, 0.05, -0.04])),
    ("fig-overparam", "test-error-falls", overparam, overparam_files, {},
     ([-1, -1, -1], [1, 1, 1], [0, 0, 0, 0])),
    ("fig-lemma1-dynamics", "error-shrinks", lemma1_dynamics, lemma1_files, {},
     ([1.0, 0.95, 1.05], [0.1, 0.2, 0.15], [0.3, 0.8, 0.4, 0.6])),
    ("fig-ntk-init", "slope", ntk_init, ntk_init_files("slope"), {"delta": 0.05},
     ([-0.5, -0.48, -0.52], [-0.2, -0.25, -0.22], [-0.45, -0.3, -0.5, -0.35])),
    ("fig-ntk-init", "below-bound", ntk_init, ntk_init_files("below-bound"), {"delta": 0.05},
     ([0.1, 0.12, 0.11], [2.0, 2.2, 2.1], [0.8, 1.2, 0.9, 1.1])),
    *[("fig-ntk-stability", key, ntk_stability, ntk_stability_files(key), {},
       ([-0.5, -0.48, -0.52], [-0.1, -0.15, -0.12], [-0.4, -0.2, -0.35, -0.3]))
      for key in ("weight-slope", "kernel-slope", "pattern-slope")],
    ("fig-ntk-stability", "wider-no-slower", ntk_stability, ntk_stability_files("wider-no-slower"), {},
     ([0.5, 0.6, 0.55], [3.0, 2.5, 2.8], [0.6, 1.6, 0.9, 1.3])),
    ("fig-kernel-regression", "gap-shrinks", kernel_regression, kernel_regression_files("gap-shrinks"), {},
     ([-0.5, -0.45, -0.55], [0.0, 0.05, -0.05], [-0.3, -0.1, -0.25, -0.15])),
    ("fig-kernel-regression", "wide-kernel-moves-less", kernel_regression,
     kernel_regression_files("wide-kernel-moves-less"), {}, ([0.2, 0.25, 0.22], [2.0, 1.8, 2.2], [0.8, 1.2, 0.9, 1.1])),
    ("fig-convergence-mnist", "true-faster", convergence, convergence_files("true-faster"), {},
     ([3.0, 3.2, 2.8], [0.5, 0.6, 0.55], [0.8, 1.3, 0.9, 1.1])),
    ("fig-convergence-mnist", "prediction-tracks", convergence, convergence_files("prediction-tracks"), {},
     ([-0.5, -0.45, -0.55], [0.0, 0.05, -0.05], [-0.3, -0.1, -0.25, -0.15])),
    ("fig-projections-mnist", "top-k-share", projections, projections_files, {"top_k": 5},
     ([0.05, 0.06, 0.04], [0.6, 0.55, 0.65], [0.15, 0.35, 0.2, 0.3])),
    ("fig-generalization-bound", "complexity-grows", generalization_bound, generalization_files("complexity-grows"),
     {"target_loss_fraction": 0.01}, ([1.0] * 3, [-1.0] * 3, [1.0, 0.486, 1.0, 0.486])),
    ("fig-generalization-bound", "test-error-grows", generalization_bound, generalization_files("test-error-grows"),
     {"target_loss_fraction": 0.01}, ([1.0] * 3, [-1.0] * 3, [1.0, 0.486, 1.0, 0.486])),
]


@pytest.mark.parametrize("outcome", ["holds", "fails", "undecided"])
@pytest.mark.parametrize("figure_id, key, module, write, settings, designs", CASES,
                         ids=[f"{case[0]}/{case[1]}" for case in CASES])
def test_claim_check_can_hold_fail_and_stay_undecided(tmp_path, figure_id, key, module, write, settings, designs,
                                                      outcome):
    values = dict(zip(["holds", "fails", "undecided"], designs))[outcome]
    out_dir = tmp_path / figure_id
    out_dir.mkdir()
    write(out_dir, values)
    row = next(row for row in module.claims(out_dir, settings, "test") if row.claim == _claim_text(figure_id, key))
    assert row.verdict == outcome, (row.estimate, row.low, row.high, row.threshold, row.details)
    assert int(row.replicates) == len(values)
    if outcome == "undecided":
        assert row.to_decide


def _claim_text(figure_id: str, key: str) -> str:
    from ntk_study import catalog

    return next(c.claim for c in catalog.figure(figure_id).claims if c.key == key)


def test_order_margin_is_negative_when_random_labels_are_not_slowest():
    assert order_margin({"true labels": 100, "shuffled pixels": 300, "random labels": 1000}) == pytest.approx(0.2)
    assert order_margin({"true labels": 100, "shuffled pixels": 1200, "random labels": 1000}) < 0


def test_random_uniform_is_a_code_check_that_fails_on_concentrated_random_labels(tmp_path):
    out_dir = tmp_path / "fig-projections-mnist"
    out_dir.mkdir()
    projections_files(out_dir, [0.05, 0.06])
    ok = projections.claims(out_dir, {"top_k": 5}, "test")[1]
    assert ok.kind == "code check" and ok.verdict == "holds"
    spectrum = pd.read_csv(out_dir / "spectrum.csv")
    spectrum["projection_random"] = spectrum["projection_true"]  # "random" labels on a single eigenvector
    spectrum.to_csv(out_dir / "spectrum.csv", index=False)
    assert projections.claims(out_dir, {"top_k": 5}, "test")[1].verdict == "fails"


def test_test_error_claim_is_not_testable_when_networks_miss_the_stated_loss(tmp_path):
    out_dir = tmp_path / "fig-generalization-bound"
    out_dir.mkdir()
    generalization_files("test-error-grows")(out_dir, [1.0, 1.0, 1.0])
    table = pd.read_csv(out_dir / "bound.csv")
    table.loc[0, "final_loss_fraction"] = 0.2
    table.to_csv(out_dir / "bound.csv", index=False)
    row = generalization_bound.claims(out_dir, {"target_loss_fraction": 0.01}, "test")[1]
    assert row.verdict == "not testable at this scale" and "17 of 18 networks" in row.details
