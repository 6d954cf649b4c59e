"""fig-ntk-structure (Seleznova & Kutyniok 2022, Fig. 4): the class-block means as the paper's code
defines them, the layer-by-layer probe NTK against neural-tangents, the recorded Adam training, the
data subsets, and the three claims on synthetic results where their sentences are true and false."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd
import pytest

from ntk_study import catalog
from ntk_study.analysis import ntk_structure as analysis
from ntk_study.analysis.ntk_structure import class_block_means
from ntk_study.claims import FAILS, HOLDS, UNDECIDED
from ntk_study.experiments.ntk_structure import (
    class_subset,
    phase_of,
    probe_ntk,
    record_steps,
    trainer,
)
from ntk_study.io import save_csv, save_npz
from ntk_study.kernels.fully_connected import phase_network
from ntk_study.kernels.precision import enable_float64
from ntk_study.training import adam_full_batch

enable_float64()


# -- Theta_c, Theta_n, Theta_d -------------------------------------------------------------------------

def block_means_by_slicing(kernel: np.ndarray, block: int) -> tuple[float, float, float]:
    """The paper's notebook reads probes grouped in equal class blocks of size ``block``: Theta_c is the
    mean of the diagonal blocks (the diagonal included), Theta_n the mean of everything else."""
    n = len(kernel)
    diagonal_blocks = [kernel[i:i + block, i:i + block] for i in range(0, n, block)]
    off_blocks = [np.concatenate([kernel[:i, i:i + block], kernel[i + block:, i:i + block]])
                  for i in range(0, n, block)]
    return float(np.mean(diagonal_blocks)), float(np.mean(off_blocks)), float(np.mean(np.diag(kernel)))


def test_class_block_means_of_a_hand_made_kernel():
    kernel = np.array([[4, 2, 1, 0],
                       [2, 6, 0, 1],
                       [1, 0, 2, 3],
                       [0, 1, 3, 4]], dtype=float)
    labels = np.array([0, 0, 1, 1])
    # same class, diagonal included: 4, 2, 2, 6 and 2, 3, 3, 4 -> 26 / 8; different classes:
    # 1, 0, 0, 1 twice -> 4 / 8; diagonal: 16 / 4.
    assert class_block_means(kernel, labels) == pytest.approx((26 / 8, 4 / 8, 16 / 4))
    order = np.array([3, 0, 2, 1])  # the probes need not be grouped by class
    assert class_block_means(kernel[np.ix_(order, order)], labels[order]) == pytest.approx((26 / 8, 4 / 8, 4.0))


def test_class_block_means_match_the_reference_block_slicing():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(12, 30))
    kernel = a @ a.T
    labels = np.repeat(np.arange(3), 4)
    assert class_block_means(kernel, labels) == pytest.approx(block_means_by_slicing(kernel, 4))
    # The diagonal counts in Theta_c: a kernel that is the identity has Theta_c/Theta_d = 1/4, not 0.
    within, between, diagonal = class_block_means(np.eye(12), labels)
    assert (within / diagonal, between / diagonal) == pytest.approx((0.25, 0.0))


# -- the probe NTK and the training -----------------------------------------------------------------------

@pytest.mark.parametrize(("depth", "biases", "sigma_w2"), [(1, True, 2.0), (3, True, 1.0), (3, False, 2.5)])
def test_probe_ntk_is_the_neural_tangents_kernel(depth, biases, sigma_w2):
    init_fn, apply_fn, _ = phase_network(depth, 7, sigma_w2, n_outputs=4, biases=biases)
    params = init_fn(jax.random.PRNGKey(3), (-1, 6))[1]
    # Trained biases are not zero: move every parameter so that each term of the kernel counts.
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(4), len(leaves))
    params = tree.unflatten([leaf + 0.1 * jax.random.normal(key, leaf.shape) for leaf, key in zip(leaves, keys)])
    x = jax.random.uniform(jax.random.PRNGKey(1), (5, 6))
    reference = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0)(x, None, params)
    np.testing.assert_allclose(np.asarray(probe_ntk(params, x)), np.asarray(reference), rtol=1e-10, atol=1e-12)


def test_the_forward_pass_does_not_depend_on_sigma_w():
    """One compiled training serves the sweep: sigma_w enters the initial draws only, which are the same
    draws scaled by sigma_w."""
    x = jax.random.uniform(jax.random.PRNGKey(1), (3, 6))
    (init_1, apply_1, _), (init_2, apply_2, _) = (phase_network(3, 5, s, n_outputs=2, biases=True) for s in (1.0, 2.2))
    params_1, params_2 = (init(jax.random.PRNGKey(0), (-1, 6))[1] for init in (init_1, init_2))
    np.testing.assert_allclose(apply_1(params_2, x), apply_2(params_2, x), rtol=1e-12)
    for a, b in zip(jax.tree_util.tree_leaves(params_1), jax.tree_util.tree_leaves(params_2)):
        np.testing.assert_allclose(b, np.sqrt(2.2) * a, rtol=1e-12)


def test_record_steps_include_the_early_steps():
    settings = {"steps": 200, "record_every": 100, "early_records": [1, 10, 20, 50]}
    assert record_steps(settings).tolist() == [0, 1, 10, 20, 50, 100, 200]
    assert record_steps({"steps": 20, "record_every": 10}).tolist() == [0, 10, 20]
    with pytest.raises(ValueError, match="must divide"):
        record_steps({"steps": 20, "record_every": 7})
    with pytest.raises(ValueError, match="early_records"):
        record_steps({"steps": 20, "record_every": 10, "early_records": [30]})


def test_phases_of_sigma_w2():
    assert [phase_of(s) for s in (0.5, 1.999, 2.0, 2.2)] == ["ordered", "ordered", "edge", "chaotic"]


def test_recorded_training_takes_the_plain_adam_steps():
    settings = {"classes": [0, 1, 2], "depth": 2, "width": 8, "biases": True, "learning_rate": 0.01,
                "steps": 12, "record_every": 6, "early_records": [1, 3]}
    rng = np.random.default_rng(0)
    x, labels = rng.uniform(size=(9, 5)), np.arange(9) % 3
    targets = np.eye(3)[labels]
    init, run = trainer(settings)
    params = init(jax.random.PRNGKey(2), 1.5, 5)
    records = run(params, x, targets, x[:3], x, labels)
    _, apply_fn, _ = phase_network(2, 8, 1.5, n_outputs=3, biases=True)

    def loss(p):
        return 0.5 * jnp.mean(jnp.sum((apply_fn(p, x) - targets) ** 2, axis=1))

    for index, step in enumerate(record_steps(settings)):
        trained = adam_full_batch(loss, params, 0.01, int(step)) if step else params
        assert float(records["train_loss"][index]) == pytest.approx(float(loss(trained)), rel=1e-9)
        np.testing.assert_allclose(records["ntk"][index], probe_ntk(trained, x[:3]), rtol=1e-8)
        accuracy = np.mean(np.argmax(np.asarray(apply_fn(trained, x)), axis=1) == labels)
        assert float(records["test_accuracy"][index]) == pytest.approx(accuracy)


def test_class_subset_maps_labels_and_groups_probes(tmp_path):
    rng = np.random.default_rng(0)
    data = {"x_train": rng.integers(0, 256, (60, 4, 4), dtype=np.uint8), "y_train": np.arange(60) % 5,
            "x_test": rng.integers(0, 256, (30, 4, 4), dtype=np.uint8), "y_test": np.arange(30) % 5}
    save_npz(tmp_path / "mnist.npz", {k: v.astype(np.uint8) for k, v in data.items()})
    subset = class_subset(tmp_path / "mnist.npz", [3, 1], n_train=10, n_test=None, probes_per_class=2, seed=[0, 7])
    assert subset["x_train"].shape == (10, 16) and subset["x_train"].dtype == np.float32
    assert 0 <= subset["x_train"].min() and subset["x_train"].max() <= 1
    assert set(subset["y_train"]) <= {0, 1} and len(subset["y_test"]) == 12  # all test images of classes 3, 1
    assert list(subset["y_probe"]) == [0, 0, 1, 1]
    again = class_subset(tmp_path / "mnist.npz", [3, 1], n_train=10, n_test=None, probes_per_class=2, seed=[0, 7])
    np.testing.assert_array_equal(again["x_probe"], subset["x_probe"])
    other = class_subset(tmp_path / "mnist.npz", [3, 1], n_train=10, n_test=None, probes_per_class=2, seed=[0, 8])
    assert not np.array_equal(other["x_train"], subset["x_train"])


# -- the claims on synthetic results ----------------------------------------------------------------------

SETTINGS = {"ordered_sigma_w2": 1.0}
SWEEP = (0.5, 1.0, 1.5, 2.0, 2.2, 2.5)


def write_results(out_dir, openings: dict[float, list[float]], accuracies: dict[float, list[float]]) -> None:
    """curves.csv and probe_ntk.npz of seeds 1.. (one per list entry) for the sweep: 2 classes x 2 probes,
    at step 0 the kernel 0.2 + 0.8 I (Theta_c/Theta_d 0.6, Theta_n/Theta_d 0.2: gap 0.4); at step 10
    the within-class entries are raised so that the gap has opened by ``openings[sigma][seed]``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = np.array([0, 0, 1, 1])
    same = labels[:, None] == labels[None, :]
    start = 0.2 + 0.8 * np.eye(4)
    seeds = len(next(iter(openings.values())))
    kernels, rows = np.zeros((seeds, len(SWEEP), 2, 4, 4)), []
    for r in range(seeds):
        for s, sigma in enumerate(SWEEP):
            opening = openings[sigma][r]
            end = np.where(same, 0.2 + 2 * opening, 0.2)
            np.fill_diagonal(end, 1.0)
            kernels[r, s] = 3.0 * np.stack([start, end])
            rows += [{"replicate": r + 1, "sigma_w2": sigma, "phase": phase_of(sigma), "step": step,
                      "train_loss": 0.1, "test_accuracy": accuracy}
                     for step, accuracy in ((0, 0.2), (10, accuracies[sigma][r]))]
    save_npz(out_dir / "probe_ntk.npz", {"kernels": kernels, "steps": np.array([0, 10]), "sigma_w2": np.array(SWEEP),
                                         "replicates": np.arange(1, seeds + 1),
                                         "probe_labels": np.tile(labels, (seeds, 1))})
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))


def verdicts(out_dir, openings, accuracies) -> dict[str, str]:
    write_results(out_dir, openings, accuracies)
    rows = analysis.claims(out_dir, SETTINGS, "test")
    assert [row.claim for row in rows] == [spec.claim for spec in catalog.figure(analysis.FIGURE_ID).claims]
    return {spec.key: row.verdict for spec, row in zip(catalog.figure(analysis.FIGURE_ID).claims, rows)}


JITTER = np.array([0.0, 0.01, -0.01, 0.02, -0.02])


def sweep(values: dict[float, float], jitter: float = 1.0) -> dict[float, list[float]]:
    """Per sigma_w^2 one value per seed: ``values`` moved by a seed's jitter, larger along the sweep
    (so that paired differences keep a spread)."""
    return {sigma: (value + jitter * (1 + 0.3 * index) * JITTER).tolist()
            for index, (sigma, value) in enumerate(values.items())}


# The published picture: blocks open at sigma_w^2 = 1 (and in the ordered phase), hardly beyond it.
PUBLISHED = {0.5: 0.3, 1.0: 0.35, 1.5: 0.2, 2.0: 0.05, 2.2: 0.02, 2.5: 0.0}


def test_structure_table_reads_the_ratios(tmp_path):
    write_results(tmp_path, sweep(PUBLISHED), sweep({s: 0.5 + v for s, v in PUBLISHED.items()}))
    table = analysis.structure(tmp_path)
    last = table[(table["replicate"] == 1) & (table["sigma_w2"] == 1.0) & (table["step"] == 10)].iloc[0]
    assert (last["within_ratio"], last["between_ratio"]) == pytest.approx((0.95, 0.2))
    runs = analysis.per_run(table)
    assert runs.loc[runs["sigma_w2"] == 2.2, "opening"].tolist() == pytest.approx(sweep(PUBLISHED)[2.2])


def test_claims_hold_where_blocks_open_only_in_order_and_the_gap_ranks_with_accuracy(tmp_path):
    accuracies = sweep({s: 0.5 + v for s, v in PUBLISHED.items()}, jitter=0.5)
    assert verdicts(tmp_path, sweep(PUBLISHED), accuracies) == {
        "ordered-gap-opens": HOLDS, "blocks-only-ordered": HOLDS, "gap-accuracy": HOLDS}


def test_claims_fail_where_the_gap_stays_shut_and_ranks_against_accuracy(tmp_path):
    shut = {s: 0.05 for s in SWEEP}
    # The openings fall along the sweep and the accuracies rise: rho = -1 in every seed.
    accuracies = sweep({s: 0.4 + 0.1 * i for i, s in enumerate(SWEEP)})
    openings = sweep({s: 0.1 - 0.01 * i for i, s in enumerate(SWEEP)}) | {1.0: (0.1 + JITTER).tolist()}
    assert verdicts(tmp_path, openings, accuracies) == {
        "ordered-gap-opens": FAILS, "blocks-only-ordered": FAILS, "gap-accuracy": FAILS}
    assert verdicts(tmp_path, sweep(shut), accuracies)["ordered-gap-opens"] == FAILS


def test_blocks_in_every_phase_fail_the_contrast_though_the_ordered_gap_opens(tmp_path):
    """The earlier trial: blocks formed in all three phases. The ordered check alone passed it."""
    everywhere = {s: 0.35 for s in SWEEP}
    accuracies = sweep({s: 0.5 + v for s, v in PUBLISHED.items()}, jitter=0.5)
    result = verdicts(tmp_path, sweep(everywhere), accuracies)
    assert result["ordered-gap-opens"] == HOLDS and result["blocks-only-ordered"] == FAILS
    # One phase beyond order forming blocks is enough to fail it.
    one_chaotic = PUBLISHED | {2.5: 0.33}
    assert verdicts(tmp_path, sweep(one_chaotic), accuracies)["blocks-only-ordered"] == FAILS


def test_claims_are_undecided_on_noise(tmp_path):
    rng = np.random.default_rng(5)
    # Openings scattered around each threshold; accuracies in random orders (rho averages 0).
    openings = {s: (0.25 + 0.3 * rng.standard_normal(5)).tolist() for s in SWEEP}
    openings[2.0] = [o - 0.25 + 0.6 * d for o, d in zip(openings[1.0], rng.standard_normal(5))]
    orders = [[0.9, 0.5, 0.7, 0.6, 0.8, 0.4], [0.4, 0.8, 0.6, 0.7, 0.5, 0.9], [0.6, 0.7, 0.4, 0.9, 0.5, 0.8],
              [0.8, 0.4, 0.9, 0.5, 0.6, 0.7], [0.5, 0.6, 0.8, 0.4, 0.9, 0.7]]
    accuracies = {s: [orders[r][i] for r in range(5)] for i, s in enumerate(SWEEP)}
    result = verdicts(tmp_path, openings, accuracies)
    assert result["ordered-gap-opens"] == UNDECIDED and result["gap-accuracy"] == UNDECIDED
    assert result["blocks-only-ordered"] != HOLDS


def test_rank_correlation_of_constant_gaps_is_zero():
    assert analysis.rank_correlation(np.array([0.1, 0.1, 0.1]), np.array([0.5, 0.6, 0.7])) == 0.0
