"""Chapter 5, initialisation phases (Seleznova & Kutyniok 2022): the phase network's empirical NTK
against its analytic recursion, the one-step kernel change, the class-block means of Fig. 4, the
recording Adam loop, and the claim checks of fig-phase-ntk-change and fig-ntk-structure."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd
import pytest

from ntk_study import catalog
from ntk_study.analysis import ntk_structure as structure_analysis
from ntk_study.analysis import phase_ntk_change as change_analysis
from ntk_study.analysis.ntk_structure import class_block_means
from ntk_study.experiments.ntk_structure import class_subset
from ntk_study.experiments.phase_ntk_change import kernel_change, mirror
from ntk_study.io import save_csv, save_npz
from ntk_study.kernels.fully_connected import phase_network
from ntk_study.kernels.precision import enable_float64
from ntk_study.training import adam_full_batch

enable_float64()


def unit_inputs(n: int, dim: int, seed: int = 0) -> jax.Array:
    x = jax.random.normal(jax.random.PRNGKey(seed), (n, dim))
    return x / jnp.linalg.norm(x, axis=1, keepdims=True)


def empirical_diagonal_error(width: int, depth: int, sigma_w2: float, biases: bool, inits: int) -> float:
    """Mean over initialisations and inputs of |Theta_emp(x, x) / Theta*(x, x) - 1|, with Theta_emp from
    nt.empirical_ntk_fn and Theta* from the same stax definition's kernel_fn."""
    x = unit_inputs(3, 6)
    init_fn, apply_fn, kernel_fn = phase_network(depth, width, sigma_w2, biases=biases)
    analytic = np.diag(np.asarray(kernel_fn(x, None, "ntk")))
    ntk_fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), diagonal_axes=(0,), vmap_axes=0,
                                 implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION)
    diagonals = jax.jit(jax.vmap(lambda key: ntk_fn(x, None, init_fn(key, x.shape)[1])))
    empirical = np.asarray(diagonals(jax.random.split(jax.random.PRNGKey(width), inits)))
    return float(np.mean(np.abs(empirical / analytic - 1)))


@pytest.mark.parametrize(("sigma_w2", "biases"), [(1.0, True), (2.0, False), (2.5, True)])
def test_empirical_ntk_diagonal_approaches_the_analytic_recursion_with_width(sigma_w2, biases):
    narrow, wide = (empirical_diagonal_error(width, 3, sigma_w2, biases, inits=6) for width in (16, 1024))
    # Fluctuations of Theta(x, x) / Theta* shrink like (depth / width)^(1/2): 8x smaller at 64x the width
    # (measured here: about 0.3-0.6 at width 16, 0.09 at width 1024).
    assert wide < 0.5 * narrow and wide < 0.15, (narrow, wide)


def test_analytic_ntk_is_the_mean_of_the_empirical_diagonal_at_small_width():
    """For these ReLU networks the standard-parameterisation recursion is exact in the mean at any
    width (the phase figure relies on it for E[Theta])."""
    x = unit_inputs(1, 5)
    init_fn, apply_fn, kernel_fn = phase_network(3, 6, 2.2, biases=True)

    def theta(key):
        params = init_fn(key, x.shape)[1]
        gradient = jax.grad(lambda p: apply_fn(p, x)[0, 0])(params)
        return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(gradient))

    samples = np.asarray(jax.jit(jax.vmap(theta))(jax.random.split(jax.random.PRNGKey(1), 20000)))
    analytic = float(kernel_fn(x, None, "ntk")[0, 0])
    error = samples.std() / np.sqrt(len(samples))
    assert abs(samples.mean() - analytic) < 4 * error, (samples.mean(), analytic, error)


@pytest.fixture(scope="module")
def small_network():
    x = unit_inputs(1, 5, seed=3)
    init_fn, apply_fn, _ = phase_network(4, 12, 2.0, biases=True)
    params = init_fn(jax.random.PRNGKey(4), x.shape)[1]
    return apply_fn, params, x


def test_one_step_change_is_exactly_zero_for_zero_learning_rate(small_network):
    apply_fn, params, x = small_network
    _, theta, first, step = kernel_change(apply_fn, params, x, 1.0, 0.0)
    assert float(theta) > 0
    assert float(first) == 0.0 and float(step) == 0.0
    _, _, first, step = kernel_change(apply_fn, params, x, 1.0, 0.05)
    assert float(first) != 0.0 and float(step) != 0.0


def test_first_order_change_is_the_small_step_limit(small_network):
    apply_fn, params, x = small_network
    eta = 1e-7  # far below the distance to the nearest ReLU kink
    _, theta, first, step = kernel_change(apply_fn, params, x, 1.0, eta)
    assert abs(float(step) / float(first) - 1) < 1e-4
    # and the change is a gradient step's: Theta moves by eta <grad Theta, -(f - y) grad f>
    assert abs(float(first)) < 1e-3 * float(theta)


def test_mirror_negates_the_output_and_keeps_the_kernel(small_network):
    apply_fn, params, x = small_network
    f, theta, _, _ = kernel_change(apply_fn, params, x, 1.0, 0.0)
    f_m, theta_m, _, _ = kernel_change(apply_fn, mirror(params), x, 1.0, 0.0)
    assert float(f_m) == pytest.approx(-float(f), rel=1e-12)
    assert float(theta_m) == pytest.approx(float(theta), rel=1e-12)


def test_class_block_means_of_a_hand_made_kernel():
    kernel = np.array([[4, 2, 1, 0, 1],
                       [2, 6, 0, 1, 1],
                       [1, 0, 2, 3, 1],
                       [0, 1, 3, 4, 5],
                       [1, 1, 1, 5, 8]], dtype=float)
    labels = np.array([0, 0, 1, 1, 1])
    # within, off the diagonal: 2, 2 (class 0) and 3, 1, 5 twice (class 1) -> 22 / 8;
    # between: 1, 0, 1, 0, 1, 1 twice -> 8 / 12; diagonal: 24 / 5
    assert class_block_means(kernel, labels) == pytest.approx((22 / 8, 8 / 12, 24 / 5))
    order = np.array([3, 0, 4, 1, 2])  # the probes need not be grouped by class
    assert class_block_means(kernel[np.ix_(order, order)], labels[order]) == pytest.approx((22 / 8, 8 / 12, 24 / 5))


def test_adam_with_records_takes_the_same_steps():
    target = jnp.array([1.0, -2.0, 0.5])

    def loss(p):
        return jnp.sum((p["w"] - target) ** 2)

    params = {"w": jnp.zeros(3)}
    plain = jax.jit(lambda p: adam_full_batch(loss, p, 0.1, 12))(params)
    final, records = jax.jit(lambda p: adam_full_batch(loss, p, 0.1, 12, record=loss, record_every=4))(params)
    np.testing.assert_allclose(final["w"], plain["w"], rtol=1e-12)
    assert records.shape == (4,) and float(records[0]) == pytest.approx(float(loss(params)))
    assert float(records[-1]) == pytest.approx(float(loss(plain)))
    assert np.all(np.diff(np.asarray(records)) < 0)
    with pytest.raises(ValueError, match="must divide"):
        adam_full_batch(loss, params, 0.1, 12, record=loss, record_every=5)


PHASE_SETTINGS = {"growth_factor": 10, "vanish_fraction": 0.1}


def synthetic_changes(chaotic_growth: float, ordered_fall: float) -> pd.DataFrame:
    """Two initialisations per point whose ratio of means is base * factor^(lambda index)."""
    rows = []
    for phase, sigma_w2, factor in (("ordered", 1.0, ordered_fall), ("edge", 2.0, 1.0),
                                    ("chaotic", 2.2, chaotic_growth)):
        for index, ratio in enumerate([0.1, 0.3, 0.5]):
            change = -0.01 * factor ** (index / 2)
            for replicate, (theta, noise) in enumerate([(1.0, 0.001), (3.0, -0.001)]):
                rows.append({"phase": phase, "sigma_w2": sigma_w2, "width": 10, "depth": index + 1,
                             "depth_ratio": ratio, "replicate": replicate, "learning_rate": 0.1, "output": 0.0,
                             "theta": theta, "theta_analytic": 2.0,
                             "delta_first_order": change * theta + noise, "delta_step": 2 * change * theta})
    return pd.DataFrame(rows)


def phase_verdicts(tmp_path, frame: pd.DataFrame) -> dict[str, str]:
    save_csv(tmp_path / "changes.csv", frame)
    rows = change_analysis.claims(tmp_path, PHASE_SETTINGS, "test")
    specs = catalog.figure("fig-phase-ntk-change").claims
    assert [row.claim for row in rows] == [spec.claim for spec in specs]
    return {spec.key: row.passed for spec, row in zip(specs, rows)}


def test_phase_claims_pass_and_fail_on_their_thresholds(tmp_path):
    verdicts = phase_verdicts(tmp_path, synthetic_changes(chaotic_growth=100.0, ordered_fall=0.001))
    assert set(verdicts.values()) == {"yes"}
    verdicts = phase_verdicts(tmp_path, synthetic_changes(chaotic_growth=4.0, ordered_fall=0.5))
    assert set(verdicts.values()) == {"no"}  # grows 4x (< 10x) and falls to 1/2 (> 1/10)


def test_ratio_of_means_error():
    delta, theta = np.array([1.0, 3.0, 2.0, 6.0]), np.array([1.0, 1.0, 2.0, 2.0])
    ratio, error = change_analysis.ratio_of_means(delta, theta)
    assert ratio == pytest.approx(2.0)
    residual = delta - 2.0 * theta  # the delta method linearises the ratio around its value
    assert error == pytest.approx(np.std(residual, ddof=1) / (2 * 1.5))


def write_structure(tmp_path, accuracies: dict[str, float]) -> None:
    """Probe kernels of 2 classes x 2 probes: the ordered phase forms blocks, the others do not."""
    labels = np.array([0, 0, 1, 1])
    same = (labels[:, None] == labels[None, :]).astype(float)
    start = 0.2 + 0.8 * np.eye(4)
    kernels = {"probe_labels": labels, "steps": np.array([0, 10])}
    final_between = {"ordered": 0.3, "edge": 0.2, "chaotic": 0.2}
    final_within = {"ordered": 0.9, "edge": 0.3, "chaotic": 0.25}
    rows = []
    for phase, sigma_w2 in (("ordered", 1.0), ("edge", 2.0), ("chaotic", 2.2)):
        end = final_between[phase] + (final_within[phase] - final_between[phase]) * same
        np.fill_diagonal(end, 1.0)
        kernels[phase] = np.stack([5 * start, 5 * end])
        rows += [{"phase": phase, "sigma_w2": sigma_w2, "step": step, "train_loss": 1.0, "test_accuracy": acc}
                 for step, acc in ((0, 0.2), (10, accuracies[phase]))]
    save_npz(tmp_path / "probe_ntk.npz", kernels)
    save_csv(tmp_path / "curves.csv", pd.DataFrame(rows))


def test_structure_claims(tmp_path):
    write_structure(tmp_path, {"ordered": 0.9, "edge": 0.8, "chaotic": 0.7})
    table = structure_analysis.structure(tmp_path)
    last = table[(table["phase"] == "ordered") & (table["step"] == 10)].iloc[0]
    assert (last["within_ratio"], last["between_ratio"]) == pytest.approx((0.9, 0.3))
    rows = structure_analysis.claims(tmp_path, {"gap_opening": 0.25}, "test")
    assert [row.claim for row in rows] == [spec.claim for spec in catalog.figure("fig-ntk-structure").claims]
    assert [row.passed for row in rows] == ["yes", "yes"]  # opening 0.6; gaps 0.6 > 0.1 > 0.05 as accuracy
    write_structure(tmp_path, {"ordered": 0.7, "edge": 0.8, "chaotic": 0.9})
    rows = structure_analysis.claims(tmp_path, {"gap_opening": 0.7}, "test")
    assert [row.passed for row in rows] == ["no", "no"]


def test_class_subset_maps_labels_and_groups_probes(tmp_path):
    rng = np.random.default_rng(0)
    data = {"x_train": rng.integers(0, 256, (60, 4, 4), dtype=np.uint8), "y_train": np.arange(60) % 5,
            "x_test": rng.integers(0, 256, (30, 4, 4), dtype=np.uint8), "y_test": np.arange(30) % 5}
    save_npz(tmp_path / "mnist.npz", {k: v.astype(np.uint8) for k, v in data.items()})
    subset = class_subset(tmp_path / "mnist.npz", [3, 1], n_train=10, n_test=None, probes_per_class=2, seed=7)
    assert subset["x_train"].shape == (10, 16) and subset["x_train"].dtype == np.float32
    assert 0 <= subset["x_train"].min() and subset["x_train"].max() <= 1
    assert set(subset["y_train"]) <= {0, 1} and len(subset["y_test"]) == 12  # all test images of classes 3, 1
    assert list(subset["y_probe"]) == [0, 0, 1, 1]
    again = class_subset(tmp_path / "mnist.npz", [3, 1], n_train=10, n_test=None, probes_per_class=2, seed=7)
    np.testing.assert_array_equal(again["x_probe"], subset["x_probe"])
