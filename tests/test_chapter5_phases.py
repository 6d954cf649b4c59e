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
from scipy import stats

from ntk_study import catalog
from ntk_study.analysis import ntk_structure as structure_analysis
from ntk_study.analysis import phase_ntk_change as change_analysis
from ntk_study.analysis.ntk_structure import class_block_means
from ntk_study.claims import FAILS, HOLDS, UNDECIDED, decide
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


def synthetic_changes(ratios: dict[str, list[float]], noise: float = 0.0, initialisations: int = 40,
                      seed: int = 0) -> pd.DataFrame:
    """changes.csv with ``initialisations`` rows per (phase, lambda) whose ratio of means E[dTheta]/E[Theta]
    is ``ratios[phase][i]`` at the i-th lambda (both changes alike), plus Gaussian noise of sd ``noise``
    on each dTheta; Theta varies over the initialisations."""
    rng = np.random.default_rng(seed)
    rows = []
    for phase, sigma_w2 in (("ordered", 1.0), ("edge", 2.0), ("chaotic", 2.2)):
        for index, (ratio, value) in enumerate(zip([0.1, 0.3, 0.5], ratios.get(phase, [0.01] * 3))):
            theta = rng.uniform(0.5, 1.5, initialisations)
            theta *= initialisations / theta.sum()  # mean exactly 1
            delta = value * theta + noise * rng.standard_normal(initialisations)
            delta += value - delta.mean() if noise == 0 else 0.0
            rows += [{"phase": phase, "sigma_w2": sigma_w2, "width": 10, "depth": index + 1, "depth_ratio": ratio,
                      "replicate": r, "learning_rate": 0.1, "output": 0.0, "theta": theta[r],
                      "theta_analytic": 1.0, "delta_first_order": delta[r], "delta_step": delta[r]}
                     for r in range(initialisations)]
    return pd.DataFrame(rows)


def phase_verdicts(tmp_path, frame: pd.DataFrame) -> dict[str, str]:
    save_csv(tmp_path / "changes.csv", frame)
    rows = change_analysis.claims(tmp_path, {}, "test")
    specs = catalog.figure("fig-phase-ntk-change").claims
    assert [row.claim for row in rows] == [spec.claim for spec in specs]
    assert all(row.replicates == "40" for row in rows)  # the initialisations are the replicates
    return {spec.key: row.verdict for spec, row in zip(specs, rows)}


def test_phase_claims_hold_when_the_chaotic_change_grows_and_the_ordered_one_vanishes(tmp_path):
    frame = synthetic_changes({"chaotic": [0.01, 0.1, 0.5], "ordered": [0.01, 0.003, 0.0005]}, noise=0.002)
    assert set(phase_verdicts(tmp_path, frame).values()) == {HOLDS}


def test_phase_claims_fail_on_a_sign_flip_and_on_a_change_that_stays(tmp_path):
    # The chaotic change flips sign (|ratio| grows 20x, which |.| read as growth) and the ordered one
    # stays at its size: both claims fail.
    frame = synthetic_changes({"chaotic": [0.01, -0.05, -0.2], "ordered": [0.01, 0.01, 0.01]}, noise=0.002)
    assert set(phase_verdicts(tmp_path, frame).values()) == {FAILS}
    chaotic = change_analysis.claims(tmp_path, {}, "test")[0]
    assert float(chaotic.estimate) == pytest.approx(-20, rel=0.1) and "+0.01" in chaotic.details


def test_phase_claims_are_undecided_when_the_change_at_the_smallest_ratio_is_noise(tmp_path):
    # E[dTheta] = 0 everywhere: the ratio to R(lambda_min) is a ratio of noises; Fieller's interval is
    # unbounded and nothing is decided (a delta-method interval would have been finite).
    frame = synthetic_changes({"chaotic": [0.0, 0.0, 0.0], "ordered": [0.0, 0.0, 0.0]}, noise=0.01, seed=3)
    assert set(phase_verdicts(tmp_path, frame).values()) == {UNDECIDED}


def test_fieller_interval_of_the_change_factor():
    frame = synthetic_changes({"chaotic": [0.02, 0.1, 0.2]}, noise=0.004, initialisations=50, seed=1)
    factor, table = change_analysis.change_factor(frame[frame["phase"] == "chaotic"], "delta_first_order")
    a, s_a, b, s_b = table["ratio"].iloc[-1], table["error"].iloc[-1], table["ratio"].iloc[0], table["error"].iloc[0]
    assert factor.estimate == pytest.approx(a / b) and factor.replicates == 50
    t = stats.t.ppf(0.975, 49)
    for bound in (factor.low, factor.high):  # the ends solve (a - G b)^2 = t^2 (s_a^2 + G^2 s_b^2)
        assert (a - bound * b) ** 2 == pytest.approx(t**2 * (s_a**2 + bound**2 * s_b**2), rel=1e-9)
    assert factor.low < factor.estimate < factor.high


def test_ratio_of_means_error():
    delta, theta = np.array([1.0, 3.0, 2.0, 6.0]), np.array([1.0, 1.0, 2.0, 2.0])
    ratio, error = change_analysis.ratio_of_means(delta, theta)
    assert ratio == pytest.approx(2.0)
    residual = delta - 2.0 * theta  # the delta method linearises the ratio around its value
    assert error == pytest.approx(np.std(residual, ddof=1) / (2 * 1.5))


def write_structure(out_dir, accuracies: dict[str, float], opening: float = 0.6) -> None:
    """Probe kernels of 2 classes x 2 probes: no blocks at step 0; at the last step the ordered phase's
    gap is ``opening`` (between-class 0.3 of the diagonal), the others' 0.1 and 0.05."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = np.array([0, 0, 1, 1])
    same = (labels[:, None] == labels[None, :]).astype(float)
    start = 0.2 + 0.8 * np.eye(4)
    kernels = {"probe_labels": labels, "steps": np.array([0, 10])}
    final_between = {"ordered": 0.3, "edge": 0.2, "chaotic": 0.2}
    final_within = {"ordered": 0.3 + opening, "edge": 0.3, "chaotic": 0.25}
    rows = []
    for phase, sigma_w2 in (("ordered", 1.0), ("edge", 2.0), ("chaotic", 2.2)):
        end = final_between[phase] + (final_within[phase] - final_between[phase]) * same
        np.fill_diagonal(end, 1.0)
        kernels[phase] = np.stack([5 * start, 5 * end])
        rows += [{"phase": phase, "sigma_w2": sigma_w2, "step": step, "train_loss": 1.0, "test_accuracy": acc}
                 for step, acc in ((0, 0.2), (10, accuracies[phase]))]
    save_npz(out_dir / "probe_ntk.npz", kernels)
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))


ALIKE = {"ordered": 0.9, "edge": 0.8, "chaotic": 0.7}  # the phases' accuracies in the order of their gaps
REVERSED = {"ordered": 0.7, "edge": 0.8, "chaotic": 0.9}


def structure_verdicts(tmp_path, runs: list[tuple[dict[str, float], float]]) -> dict[str, str]:
    values = {}
    for index, (accuracies, opening) in enumerate(runs):
        write_structure(tmp_path / f"seed-{index}", accuracies, opening)
        for key, (value, _) in structure_analysis.measure(tmp_path / f"seed-{index}", {}).items():
            values.setdefault(key, []).append(value)
    return {key: decide(structure_analysis.FIGURE_ID, key, vals, "test").verdict for key, vals in values.items()}


def test_structure_claims_of_one_run_are_undecided(tmp_path):
    write_structure(tmp_path, ALIKE)
    table = structure_analysis.structure(tmp_path)
    last = table[(table["phase"] == "ordered") & (table["step"] == 10)].iloc[0]
    assert (last["within_ratio"], last["between_ratio"]) == pytest.approx((0.9, 0.3))
    rows = structure_analysis.claims(tmp_path, {}, "test")
    assert [row.claim for row in rows] == [spec.claim for spec in catalog.figure("fig-ntk-structure").claims]
    # One seed is one replicate: rho = 1 over three phases happens by chance 1 time in 6.
    assert [row.verdict for row in rows] == [UNDECIDED, UNDECIDED]
    assert [row.estimate for row in rows] == ["0.6", "1"]
    assert all("at least 2 replicates" in row.to_decide for row in rows)
    assert "probability 1/6" in rows[1].details


def test_structure_claims_hold_over_seeds_where_the_gap_opens_and_ranks_with_accuracy(tmp_path):
    runs = [(ALIKE, opening) for opening in (0.6, 0.5, 0.55)]
    assert structure_verdicts(tmp_path, runs) == {"ordered-gap-opens": HOLDS, "gap-accuracy": HOLDS}


def test_structure_claims_fail_over_seeds_where_the_gap_stays_shut_and_ranks_against_accuracy(tmp_path):
    runs = [(REVERSED, opening) for opening in (0.15, 0.12, 0.16)]
    assert structure_verdicts(tmp_path, runs) == {"ordered-gap-opens": FAILS, "gap-accuracy": FAILS}


def test_structure_claims_are_undecided_on_noise(tmp_path):
    # Openings scattered around 0.25; accuracies in random orders (rho 1, -1, 0.5, -0.5: mean 0).
    orders = [ALIKE, REVERSED, {"ordered": 0.9, "edge": 0.7, "chaotic": 0.8},
              {"ordered": 0.8, "edge": 0.7, "chaotic": 0.9}]
    runs = [(accuracies, 0.25 + d / 2) for accuracies, d in zip(orders, [0.4, -0.4, 0.15, -0.15])]
    assert structure_verdicts(tmp_path, runs) == {"ordered-gap-opens": UNDECIDED, "gap-accuracy": UNDECIDED}


def test_rank_correlation_of_constant_gaps_is_zero():
    assert structure_analysis.phase_rank_correlation([0.1, 0.1, 0.1], [0.5, 0.6, 0.7]) == 0.0


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
