"""Chapter 5, initialisation phases (Seleznova & Kutyniok 2022): the phase network's empirical NTK
against its analytic recursion, the one-step kernel change, the recording Adam loop, and the claim
checks of fig-phase-ntk-change (fig-ntk-structure's tests: tests/test_ntk_structure.py)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from ntk_study import catalog
from ntk_study.analysis import phase_ntk_change as change_analysis
from ntk_study.claims import FAILS, HOLDS, UNDECIDED
from ntk_study.config import validate_config
from ntk_study.experiments.phase_ntk_change import (
    check_range,
    edge_params,
    kernel_change,
    mirror,
    paired_change,
    phase_step,
    points,
    scaled,
)
from ntk_study.io import save_csv
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


def test_paired_change_is_the_mean_over_the_network_and_its_mirror(small_network):
    """The mirror needs no second network: its first-order change is -eta (f + y) D and its step is
    the network's step for the label -y (mirrored, which leaves Theta unchanged)."""
    apply_fn, params, x = small_network
    for y, eta in ((0.7, 0.05), (-1.3, 0.2)):
        f, theta, first, step = paired_change(apply_fn, params, x, y, eta)
        single = np.array([kernel_change(apply_fn, p, x, y, eta) for p in (params, mirror(params))], dtype=float)
        assert float(f) == pytest.approx(single[0, 0], rel=1e-12)
        assert float(theta) == pytest.approx(single[0, 1], rel=1e-12)
        assert float(first) == pytest.approx(single[:, 2].mean(), rel=1e-9)
        assert float(step) == pytest.approx(single[:, 3].mean(), rel=1e-9)
        assert abs(single[0, 2] - single[1, 2]) > 1e-3 * abs(float(first))  # the pair's two changes differ


@pytest.mark.parametrize("biases", [True, False])
def test_edge_params_have_the_stax_networks_tree(biases):
    for depth in (1, 2, 4):
        init_fn, _, _ = phase_network(depth, 5, 2.0, biases=biases)
        stax_tree = init_fn(jax.random.PRNGKey(0), (-1, 3))[1]
        ours = edge_params(jax.random.PRNGKey(0), 3, 5, depth, biases)
        assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(stax_tree)
        shapes = [[a.shape for a in jax.tree_util.tree_leaves(tree)] for tree in (ours, stax_tree)]
        assert shapes[0] == shapes[1]
        if biases:  # zero at initialisation, as stax's b_std = 0
            assert all(not np.any(np.asarray(b)) for b in (ours[0][0][1], ours[1][0][1], ours[2][1]))


def test_scaled_edge_draws_have_the_phase_networks_analytic_moments():
    """E[Theta(x, x)] is the phase network's analytic NTK and E[f(x)^2] its analytic NNGP at small width
    (the phase-fair step divides by the first and scales the label by the root of the second)."""
    x = unit_inputs(1, 5)
    depth, width, sigma_w2 = 3, 6, 2.2
    _, apply_fn, kernel_fn = phase_network(depth, width, sigma_w2, biases=True)

    def moments(key):
        params = scaled(edge_params(key, 5, width, depth, True), np.sqrt(sigma_w2 / 2))
        f, gradient = jax.value_and_grad(lambda p: apply_fn(p, x)[0, 0])(params)
        return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(gradient)), f**2

    theta, f2 = (np.asarray(a) for a in jax.jit(jax.vmap(moments))(jax.random.split(jax.random.PRNGKey(2), 20000)))
    kernels = kernel_fn(x, None, ("nngp", "ntk"))
    for samples, analytic in ((theta, float(kernels.ntk[0, 0])), (f2, float(kernels.nngp[0, 0]))):
        error = samples.std() / np.sqrt(len(samples))
        assert abs(samples.mean() - analytic) < 4 * error, (samples.mean(), analytic, error)


def relative_changes(sigma_w2: float, biases: bool, common_eta: float | None = None) -> np.ndarray:
    """(first-order, exact) change over Theta of one draw's network in the phase sigma_w2 (the edge
    draw scaled), after the phase-fair step (or a step of ``common_eta`` with the label 1)."""
    depth, width = 4, 12
    x = unit_inputs(1, 5, seed=7)
    _, apply_fn, kernel_fn = phase_network(depth, width, sigma_w2, biases=biases)
    eta, y, _, _ = phase_step(kernel_fn, x, 0.3, 1.0)
    if common_eta is not None:
        eta, y = common_eta, 1.0
    params = scaled(edge_params(jax.random.PRNGKey(11), 5, width, depth, biases), np.sqrt(sigma_w2 / 2))
    _, theta, first, step = paired_change(apply_fn, params, x, y, eta)
    return np.array([float(first), float(step)]) / float(theta)


def test_phase_fair_step_makes_the_change_invariant_to_rescaling_a_bias_free_net():
    """Without biases the phases are one draw scaled by (sigma_w^2 / 2)^(1/2) per layer: the phase-fair
    eta and label cancel the scale in the first-order and in the exact change, while one common eta
    multiplies the first-order change by (sigma_w^2 / 2)^L exactly."""
    edge = relative_changes(2.0, biases=False)
    assert abs(edge[0]) > 1e-4 and abs(edge[1]) > 1e-4
    for sigma_w2 in (1.0, 2.2, 3.0):
        np.testing.assert_allclose(relative_changes(sigma_w2, biases=False), edge, rtol=1e-6)
        common = relative_changes(sigma_w2, biases=False, common_eta=0.01)[0]
        assert common == pytest.approx((sigma_w2 / 2) ** 4 * relative_changes(2.0, False, common_eta=0.01)[0],
                                       rel=1e-9)


def test_with_biases_the_phase_fair_step_still_separates_the_phases():
    """The zero-initialised, trained biases break the homogeneity: the invariance above is not
    automatic, so the phases can still differ after the phase-fair step."""
    edge, ordered = relative_changes(2.0, biases=True), relative_changes(1.0, biases=True)
    assert abs(ordered[0] / edge[0] - 1) > 0.1


def test_float32_runs_stop_near_underflow():
    frame = pd.DataFrame({"output": [0.3, 0.0, 1e-3], "delta_first_order": [1e-3, 0.0, 1e-5]})
    check_range(frame, float64=False)  # a constant (dead) network's zeros are allowed
    for output, first in ((1e-3, 0.0), (1e-30, 1e-3), (1e-3, 1e-31)):
        bad = pd.DataFrame({"output": [output], "delta_first_order": [first]})
        with pytest.raises(ValueError, match="float32 underflow"):
            check_range(bad, float64=False)
        check_range(bad, float64=True)


def test_both_sweeps_and_their_initialisation_counts():
    settings = {"width": 10, "depth_ratios": [0.1, 0.2, 0.4], "initialisations": [9, 3, 5],
                "width_sweep": {"depth_ratio": 0.3, "widths": [10, 20], "initialisations": [4, 6]}}
    grid = [(p["sweep"], p["width"], p["depth"], p["initialisations"]) for p in points(settings)]
    assert grid == [("depth", 10, 1, 9), ("depth", 10, 2, 3), ("depth", 10, 4, 5), ("width", 10, 3, 4),
                    ("width", 20, 6, 6)]
    settings["initialisations"] = 7
    assert [p["initialisations"] for p in points(settings)][:3] == [7, 7, 7]
    settings["width_sweep"]["initialisations"] = [4]
    with pytest.raises(ValueError, match="one initialisation count per width"):
        points(settings)


def test_config_schema_fills_the_draw_set_and_precision():
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "test.yaml").read_text())
    section = config["figures"]["fig-phase-ntk-change"]
    section.pop("draw_set", None), section.pop("float64", None)
    filled = validate_config(config)["figures"]["fig-phase-ntk-change"]
    assert filled["draw_set"] == 0 and filled["float64"] is True
    assert filled["width_sweep"]["widths"] == [4, 8]


DEPTH_RATIOS, WIDTHS = [0.1, 0.3, 0.5], [10, 20, 40]


def synthetic_changes(depth: dict[str, list[float]], width: dict[str, list[float]] | None = None,
                      noise: float = 0.0, initialisations: int = 40, seed: int = 0) -> pd.DataFrame:
    """changes.csv with ``initialisations`` rows per (sweep, phase, point) whose ratio E[dTheta]/E[Theta]
    is ``depth[phase][i]`` at the i-th lambda of the depth sweep and ``width[phase][i]`` at the i-th
    width of the width sweep (both changes alike; unlisted phases 0.01), plus Gaussian noise of sd
    ``noise`` on each dTheta. Theta varies over the initialisations; f(x) is standard normal with
    K* = 1, unrelated to dTheta."""
    rng = np.random.default_rng(seed)
    rows = []
    for sweep, ratios, grid in (("depth", depth, DEPTH_RATIOS), ("width", width or {}, WIDTHS)):
        for phase, sigma_w2 in (("ordered", 1.0), ("edge", 2.0), ("chaotic", 2.2)):
            for index, (point, value) in enumerate(zip(grid, ratios.get(phase, [0.01] * 3))):
                theta = rng.uniform(0.5, 1.5, initialisations)
                theta *= initialisations / theta.sum()  # mean exactly 1
                delta = value * theta + noise * rng.standard_normal(initialisations)
                delta += value - delta.mean() if noise == 0 else 0.0
                output = rng.standard_normal(initialisations)
                m, ratio = (10, point) if sweep == "depth" else (point, 0.2)
                rows += [{"sweep": sweep, "phase": phase, "sigma_w2": sigma_w2, "width": m,
                          "depth": max(1, round(ratio * m)) + (index if sweep == "depth" else 0),
                          "depth_ratio": ratio, "replicate": r, "learning_rate": 0.1, "target": 1.0,
                          "output": output[r], "theta": theta[r], "theta_analytic": 1.0, "nngp_analytic": 1.0,
                          "delta_first_order": delta[r], "delta_step": delta[r]}
                         for r in range(initialisations)]
    return pd.DataFrame(rows)


def phase_verdicts(tmp_path, frame: pd.DataFrame) -> dict[str, str]:
    save_csv(tmp_path / "changes.csv", frame)
    rows = change_analysis.claims(tmp_path, {}, "test")
    specs = catalog.figure("fig-phase-ntk-change").claims
    assert [row.claim for row in rows] == [spec.claim for spec in specs]
    assert all(row.replicates == "40" for row in rows)  # the initialisations are the replicates
    return {spec.key: row.verdict for spec, row in zip(specs, rows)}


TRUE_DEPTH = {"chaotic": [0.01, 0.1, 0.5], "ordered": [0.01, 0.003, 0.0005]}
TRUE_WIDTH = {"chaotic": [0.01, 0.02, 0.04], "ordered": [0.01, 0.003, 0.001], "edge": [0.01, 0.011, 0.012]}


def test_phase_claims_hold_where_their_sentences_are_true(tmp_path):
    frame = synthetic_changes(TRUE_DEPTH, TRUE_WIDTH, noise=0.002)
    assert set(phase_verdicts(tmp_path, frame).values()) == {HOLDS}


def test_phase_claims_fail_where_their_sentences_are_false(tmp_path):
    # The chaotic change flips sign (|ratio| grows 20x, which |.| would read as growth) or stays, the
    # ordered one stays at its size, and at the edge of chaos it explodes with the width.
    frame = synthetic_changes({"chaotic": [0.01, -0.05, -0.2], "ordered": [0.01, 0.01, 0.01]},
                              {"chaotic": [0.01, 0.01, 0.01], "ordered": [0.01, 0.01, 0.01], "edge": [0.01, 0.05, 0.2]},
                              noise=0.002)
    assert set(phase_verdicts(tmp_path, frame).values()) == {FAILS}
    chaotic = change_analysis.claims(tmp_path, {}, "test")[0]
    assert float(chaotic.estimate) == pytest.approx(-20, rel=0.15) and "E[ΔΘ]/E[Θ] = +0.0" in chaotic.details


@pytest.mark.parametrize(("key", "width"), [
    ("edge-steady-width", {"edge": [0.01, 0.004, 0.002]}),  # vanishes: not steady either
    ("chaotic-grows-width", {"chaotic": [0.01, 0.005, 0.002]}),  # shrinks
    ("ordered-vanishes-width", {"ordered": [0.01, -0.03, -0.05]}),  # flips sign and grows
])
def test_each_width_claim_fails_on_its_own_counterexample(tmp_path, key, width):
    verdicts = phase_verdicts(tmp_path, synthetic_changes(TRUE_DEPTH, {**TRUE_WIDTH, **width}, noise=0.002))
    assert verdicts.pop(key) == FAILS
    assert set(verdicts.values()) == {HOLDS}


def test_phase_claims_are_undecided_when_the_change_at_the_first_point_is_noise(tmp_path):
    # E[dTheta] = 0 everywhere: the ratio to R at the first point is a ratio of noises; Fieller's
    # interval is unbounded and nothing is decided (a delta-method interval would have been finite).
    zeros = {"chaotic": [0.0] * 3, "ordered": [0.0] * 3, "edge": [0.0] * 3}
    frame = synthetic_changes(zeros, zeros, noise=0.01, seed=3)
    assert set(phase_verdicts(tmp_path, frame).values()) == {UNDECIDED}


def test_fieller_interval_of_the_change_factor():
    frame = synthetic_changes({"chaotic": [0.02, 0.1, 0.2]}, noise=0.004, initialisations=50, seed=1)
    chaotic = frame[(frame["phase"] == "chaotic") & (frame["sweep"] == "depth")]
    factor, table = change_analysis.change_factor(chaotic, "delta_first_order")
    a, s_a, b, s_b = table["ratio"].iloc[-1], table["error"].iloc[-1], table["ratio"].iloc[0], table["error"].iloc[0]
    assert factor.estimate == pytest.approx(a / b) and factor.replicates == 50
    t = stats.t.ppf(0.975, 49)
    for bound in (factor.low, factor.high):  # the ends solve (a - G b)^2 = t^2 (s_a^2 + G^2 s_b^2)
        assert (a - bound * b) ** 2 == pytest.approx(t**2 * (s_a**2 + bound**2 * s_b**2), rel=1e-9)
    assert factor.low < factor.estimate < factor.high
    widths = frame[(frame["phase"] == "chaotic") & (frame["sweep"] == "width")]
    factor, table = change_analysis.change_factor(widths, "delta_first_order", by="width")
    assert list(table["width"]) == WIDTHS and factor.estimate == pytest.approx(1.0, rel=0.3)  # 0.01 at every width


def test_ratio_of_means_error():
    delta, theta = np.array([1.0, 3.0, 2.0, 6.0]), np.array([1.0, 1.0, 2.0, 2.0])
    ratio, error = change_analysis.ratio_of_means(delta, theta)
    assert ratio == pytest.approx(2.0)
    residual = delta - 2.0 * theta  # the delta method linearises the ratio around its value
    assert error == pytest.approx(np.std(residual, ddof=1) / (2 * 1.5))
