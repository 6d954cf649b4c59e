"""Chapter 5, Fort et al. 2020 (fig-kernel-velocity, fig-parent-child): the kernel distance, the
linearised child, the Bezier path, the sharpness, the checkpoint schedule and the claims (each shown
able to hold, fail and stay undecided on synthetic result files)."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import yaml

from ntk_study import catalog
from ntk_study.analysis import kernel_velocity as velocity_analysis
from ntk_study.analysis import parent_child as parent_child_analysis
from ntk_study.analysis.kernel_velocity import epoch_velocities, parameter_count, transient_statistics
from ntk_study.analysis.parent_child import barriers, sharpness_ratios
from ntk_study.checkpoints import checkpoint_epochs, checkpoint_steps
from ntk_study.claims import FAILS, HOLDS, UNDECIDED, decide
from ntk_study.config import ConfigError, validate_config
from ntk_study.experiments.parent_child import linearised_apply
from ntk_study.io import save_csv, save_npz
from ntk_study.kernel_dynamics import distance_matrix, kernel_distance, probe_ntk
from ntk_study.kernels.residual import resnet
from ntk_study.landscape import bezier_point, top_hessian_eigenvalue, train_bezier_control
from ntk_study.training import as_float32


@pytest.fixture(scope="module")
def small_resnet():
    init_fn, apply_fn, _ = resnet([1, 1], [4, 8], 10, 0.1)
    _, params = init_fn(jax.random.PRNGKey(0), (-1, 4, 4, 3))
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 4, 4, 3), dtype=jnp.float32)  # x64 may be on
    return apply_fn, as_float32(params), x


def test_kernel_distance_is_zero_for_equal_kernels_and_scale_invariant():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(6, 4))
    kernel = features @ features.T
    assert kernel_distance(kernel, kernel) == pytest.approx(0.0, abs=1e-12)
    assert kernel_distance(kernel, 7.5 * kernel) == pytest.approx(0.0, abs=1e-12)
    other = rng.normal(size=(6, 6))
    assert kernel_distance(kernel, other) == pytest.approx(kernel_distance(3.0 * kernel, 0.2 * other), abs=1e-12)
    assert kernel_distance(np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx(1.0)
    stack = np.stack([kernel, 2 * kernel, other])
    matrix = distance_matrix(stack)
    assert matrix[0, 2] == pytest.approx(kernel_distance(kernel, other))
    assert matrix[0, 1] == pytest.approx(0.0, abs=1e-12)


def test_linearised_model_equals_the_network_at_its_origin(small_resnet):
    apply_fn, params, x = small_resnet
    linear = linearised_apply(apply_fn)
    np.testing.assert_allclose(linear(params, x, params), apply_fn(params, x), rtol=1e-5, atol=1e-6)

    def total(fn):
        return lambda w: jnp.sum(jnp.sin(fn(w)))  # a non-linear read-out, so every output's gradient counts

    network_grad = jax.grad(total(lambda w: apply_fn(w, x)))(params)
    linear_grad = jax.grad(total(lambda w: linear(w, x, params)))(params)
    for a, b in zip(jax.tree_util.tree_leaves(network_grad), jax.tree_util.tree_leaves(linear_grad)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_linearised_model_is_affine_in_the_weights_and_differs_from_the_network(small_resnet):
    apply_fn, params, x = small_resnet
    linear = linearised_apply(apply_fn)
    direction = jax.tree_util.tree_map(lambda p: 0.3 * jnp.ones_like(p), params)

    def moved(scale):
        return jax.tree_util.tree_map(lambda p, d: p + scale * d, params, direction)

    steps = [linear(moved(s), x, params) for s in (0.0, 1.0, 2.0)]
    np.testing.assert_allclose(steps[2] - steps[1], steps[1] - steps[0], rtol=1e-3, atol=1e-4)
    assert float(jnp.max(jnp.abs(apply_fn(moved(2.0), x) - steps[2]))) > 1e-2  # the network is not


def test_probe_ntk_is_the_logit_traced_jacobian_product_in_any_block_size(small_resnet):
    apply_fn, params, x = small_resnet
    jacobian = jax.jacobian(apply_fn)(params, x)  # leaves: (probes, logits, *param shape)
    flat = np.concatenate([np.asarray(leaf).reshape(5, 10, -1) for leaf in jax.tree_util.tree_leaves(jacobian)],
                          axis=2)
    expected = np.einsum("ikp,jkp->ij", flat, flat) / 10  # the mean over the 10 logits
    np.testing.assert_allclose(probe_ntk(apply_fn, params, np.asarray(x)), expected, rtol=1e-4)
    np.testing.assert_allclose(probe_ntk(apply_fn, params, np.asarray(x), block=2), expected, rtol=1e-4)


def test_bezier_curve_ends_at_the_two_solutions():
    start, control, end = jnp.array([1.0, 2.0]), jnp.array([5.0, -3.0]), jnp.array([-4.0, 0.5])
    np.testing.assert_allclose(bezier_point(0.0, start, control, end), start)
    np.testing.assert_allclose(bezier_point(1.0, start, control, end), end)
    np.testing.assert_allclose(bezier_point(0.5, start, control, end), 0.25 * start + 0.5 * control + 0.25 * end)


def test_trained_bezier_curve_goes_around_a_barrier_the_straight_line_crosses():
    # Minima on the unit circle; the straight line between (1, 0) and (0, 1) cuts inside it.
    def loss(v):
        return (jnp.sum(v**2) - 1.0) ** 2

    start, end = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    control = train_bezier_control(lambda v, batch: loss(v), start, end, jax.random.PRNGKey(0), n=10,
                                   batch_size=10, epochs=300, learning_rate=0.05, momentum=0.5)
    ts = np.linspace(0, 1, 41)
    line_barrier = max(float(loss((1 - t) * start + t * end)) for t in ts)
    curve_barrier = max(float(loss(bezier_point(t, start, control, end))) for t in ts)
    assert line_barrier == pytest.approx(0.25)
    assert curve_barrier < 0.2 * line_barrier


def test_power_iteration_finds_the_top_eigenvalue_of_a_quadratic():
    rng = np.random.default_rng(3)
    basis, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    eigenvalues = np.array([9.0, 4.0, 2.5, 1.0, 0.5, 0.1, -3.0, -0.2])
    hessian = jnp.asarray(basis @ np.diag(eigenvalues) @ basis.T, dtype=jnp.float32)

    def loss(v):
        return 0.5 * v @ hessian @ v + jnp.sum(jnp.cos(0.0 * v))  # constant term: only the Hessian matters

    found = top_hessian_eigenvalue(loss, jnp.asarray(rng.normal(size=8), jnp.float32), jax.random.PRNGKey(0),
                                   iterations=200)
    assert found == pytest.approx(9.0, rel=1e-3)


def test_checkpoint_schedule_is_dense_early_then_per_epoch():
    steps = checkpoint_steps(steps_per_epoch=8, epochs=4, dense_epochs=2, dense_per_epoch=4)
    assert steps == [0, 2, 4, 6, 8, 10, 12, 14, 16, 24, 32]
    assert checkpoint_epochs(8, 4, 2, 4)[-3:] == [2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="must divide"):
        checkpoint_steps(steps_per_epoch=10, epochs=2, dense_epochs=1, dense_per_epoch=3)


def _kernels_at_angles(angles_degrees: list[float]) -> np.ndarray:
    """2 x 2 kernels diag(cos a, sin a): S between two of them is 1 - cos(a1 - a2)."""
    return np.stack([np.diag([np.cos(np.radians(a)), np.sin(np.radians(a))]) for a in angles_degrees])


def test_epoch_velocities_use_whole_epoch_checkpoints_only(tmp_path):
    # dense checkpoints at 0.5 are skipped; velocity of epoch e is S(K_{e-1}, K_e)
    epochs = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    angles = [0.0, 50.0, 40.0, 60.0, 70.0]
    save_npz(tmp_path / "probe_ntk.npz", {"epochs": epochs, "kernels": _kernels_at_angles(angles)})
    velocities = epoch_velocities(tmp_path)
    assert velocities["epoch"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(velocities["velocity"], 1 - np.cos(np.radians([40.0, 20.0, 10.0])), rtol=1e-9)
    stats = transient_statistics(velocities, transient_epochs=1)
    assert stats["ratio"] == pytest.approx(velocities["velocity"][0] / velocities["velocity"][1:].mean())
    later = velocities["velocity"][1:].to_numpy()
    assert stats["later_cv"] == pytest.approx(later.std() / later.mean())
    slope = np.polyfit([2.0, 3.0], np.log(later), 1)[0]
    assert stats["drift"] == pytest.approx(slope * 1.0) == pytest.approx(np.log(later[1] / later[0]))


def test_barriers_and_sharpness_ratios_from_result_files(tmp_path):
    t = np.linspace(0, 1, 5)
    pd.DataFrame({"path": ["line"] * 5 + ["bezier"] * 5, "t": np.concatenate([t, t]),
                  "train_loss": [0.1, 1.0, 2.1, 0.9, 0.3, 0.1, 0.2, 0.25, 0.2, 0.3]}).to_csv(tmp_path / "paths.csv")
    assert barriers(tmp_path) == pytest.approx({"line": 1.9, "bezier": 0.1})  # max - mean of the ends
    pd.DataFrame({"phase": ["minimum", "small_lr", "small_lr", "large_lr", "large_lr"],
                  "learning_rate": [0.01, 0.01, 0.01, 0.1, 0.1], "step": [10, 12, 14, 12, 14],
                  "sharpness": [100.0, 95.0, 90.0, 30.0, 15.0], "stability_limit": [380.0] * 3 + [38.0] * 2,
                  "test_accuracy": [0.3, 0.3, 0.31, 0.35, 0.36]}).to_csv(tmp_path / "sharpness.csv")
    ratios = sharpness_ratios(tmp_path)
    assert ratios["small_lr_ratio"] == pytest.approx(0.9)
    assert ratios["large_lr_ratio"] == pytest.approx(0.15)


def test_parameter_count_matches_the_stax_network():
    network = {"stage_blocks": [1, 2], "stage_channels": [4, 8], "branch_scale": 0.1}
    init_fn, _, _ = resnet(network["stage_blocks"], network["stage_channels"], 10, 0.1)
    _, params = init_fn(jax.random.PRNGKey(0), (-1, 8, 8, 3))
    assert parameter_count(network) == sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))


def test_config_rejects_parent_epochs_that_are_not_checkpoints():
    with open("config/test.yaml") as handle:
        config = yaml.safe_load(handle)
    validate_config(config)
    broken = copy.deepcopy(config)
    broken["figures"]["fig-parent-child"]["parent_epochs"] = [0, 0.3, 4]
    with pytest.raises(ConfigError, match=r"parent_epochs: \[0.3\] are not checkpoints"):
        validate_config(broken)
    broken = copy.deepcopy(config)
    broken["figures"]["fig-parent-child"]["compare_epochs"] = [2]
    with pytest.raises(ConfigError, match="compare_epochs"):
        validate_config(broken)


# --- The claims on synthetic result files: one run is one replicate; several runs decide. ---------

VELOCITY_SETTINGS = {"transient_epochs": 2}
PARENT_SETTINGS = {"first_epochs": 1, "compare_epochs": [2, 3]}
SYMMETRIC_NOISE = [0.4, -0.4, 0.15, -0.15]  # replicates scattered evenly around the threshold


def write_velocity_run(out_dir, velocities: list[float]) -> None:
    """probe_ntk.npz whose per-epoch velocities (S between whole-epoch kernels) are ``velocities``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = np.degrees(np.arccos(1 - np.asarray(velocities)))
    angles = np.concatenate([[0.0], np.cumsum(steps)])
    save_npz(out_dir / "probe_ntk.npz", {"epochs": np.arange(len(angles), dtype=float),
                                         "kernels": _kernels_at_angles(list(angles))})


def velocities_with(ratio: float, drift: float, later_epochs: int = 6, jitter: float = 0.0, seed: int = 0) -> list:
    """Two transient epochs whose mean velocity is ``ratio`` x the later mean; later velocities
    drifting log-linearly by ``drift`` from first to last (times 1 + jitter noise)."""
    later = 0.01 * np.exp(drift * np.linspace(0, 1, later_epochs))
    later *= 1 + jitter * np.random.default_rng(seed).uniform(-1, 1, later_epochs)
    early = ratio * later.mean()
    return [1.2 * early, 0.8 * early, *later]


def velocity_verdicts(tmp_path, runs: list[list[float]]) -> dict[str, str]:
    values = {}
    for index, velocities in enumerate(runs):
        write_velocity_run(tmp_path / f"seed-{index}", velocities)
        for key, (value, _) in velocity_analysis.measure(tmp_path / f"seed-{index}", VELOCITY_SETTINGS).items():
            values.setdefault(key, []).append(value)
    return {key: decide(velocity_analysis.FIGURE_ID, key, vals, "test").verdict for key, vals in values.items()}


def test_velocity_claims_hold_for_a_transient_then_a_constant_velocity(tmp_path):
    runs = [velocities_with(ratio=6.0, drift=0.0, jitter=0.05, seed=s) for s in range(4)]
    assert velocity_verdicts(tmp_path, runs) == {"chaotic-transient": HOLDS, "constant-velocity": HOLDS}


def test_velocity_claims_fail_without_a_transient_and_with_a_steady_drift(tmp_path):
    # No transient (early ~ later) and a velocity that doubles steadily after it: its coefficient of
    # variation stays below 0.3, which the old check passed; the drift test does not.
    runs = [velocities_with(ratio=1.0, drift=np.log(2.0), jitter=0.02, seed=s) for s in range(4)]
    later = np.asarray(runs[0][2:])
    assert later.std() / later.mean() < 0.3
    assert velocity_verdicts(tmp_path, runs) == {"chaotic-transient": FAILS, "constant-velocity": FAILS}


def test_velocity_claims_are_undecided_on_noise_around_the_threshold(tmp_path):
    runs = [velocities_with(ratio=3.0 * np.exp(d), drift=0.405 + d) for d in SYMMETRIC_NOISE]
    assert velocity_verdicts(tmp_path, runs) == {"chaotic-transient": UNDECIDED, "constant-velocity": UNDECIDED}


def test_velocity_claims_of_one_run_are_undecided_and_say_what_would_decide(tmp_path):
    write_velocity_run(tmp_path, velocities_with(ratio=6.0, drift=0.0))
    rows = velocity_analysis.claims(tmp_path, VELOCITY_SETTINGS, "test")
    assert [row.claim for row in rows] == [spec.claim for spec in catalog.figure("fig-kernel-velocity").claims]
    assert [row.verdict for row in rows] == [UNDECIDED, UNDECIDED]
    assert all(row.replicates == "1" and "at least 2 replicates" in row.to_decide for row in rows)
    assert rows[0].estimate == "6" and "6.00x" in rows[0].details
    assert rows[1].threshold == "in (-0.405, 0.405)" and "x1.00" in rows[1].details


def write_parent_run(out_dir, fastest: float, ratio: float, remaining: float, distance: float, small: float,
                     large: float, final_parent_error: float = 0.3) -> None:
    """Result files of fig-parent-child whose statistics are the given values: the child's early minus
    later error drop, the error ratio t = 0 vs t = 2/3, the Bezier barrier as a fraction of the line's,
    the kernel distance between the first and last tangent kernel, and the sharpness ratios."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0.9
    at_one = start - (0.3 + fastest / 2)
    errors = {0: start, 0.5: (start + at_one) / 2, 1: at_one, 2: start / ratio, 3: start / ratio,
              10: at_one - (0.3 - fastest / 2)}
    save_csv(out_dir / "children.csv", pd.DataFrame({
        "parent_epoch": list(errors), "child_test_accuracy": [1 - e for e in errors.values()],
        "parent_test_accuracy": 0.5, "final_parent_test_accuracy": 1 - final_parent_error}))
    angle = np.degrees(np.arccos(1 - distance))
    save_npz(out_dir / "tangent_kernels.npz", {"parent_epochs": np.array(list(errors), dtype=float),
                                               "kernels": _kernels_at_angles(list(np.linspace(0, angle, 6)))})
    t = np.linspace(0, 1, 5)
    save_csv(out_dir / "paths.csv", pd.DataFrame({
        "path": ["line"] * 5 + ["bezier"] * 5, "t": np.concatenate([t, t]),
        "train_loss": [0.1, 0.6, 1.1, 0.6, 0.1] + [0.1, 0.1, 0.1 + remaining, 0.1, 0.1]}))
    save_csv(out_dir / "sharpness.csv", pd.DataFrame({
        "phase": ["minimum", "small_lr", "small_lr", "large_lr", "large_lr"],
        "learning_rate": [0.02, 0.02, 0.02, 0.05, 0.05], "step": [10, 12, 14, 12, 14],
        "sharpness": [180.0, 170.0, 180.0 * small, 100.0, 180.0 * large],
        "stability_limit": [190.0] * 3 + [76.0] * 2, "test_accuracy": [0.3, 0.3, 0.31, 0.35, 0.36]}))


def parent_verdicts(tmp_path, runs: list[dict[str, float]]) -> dict[str, str]:
    values = {}
    for index, run in enumerate(runs):
        write_parent_run(tmp_path / f"seed-{index}", **run)
        for key, (value, _) in parent_child_analysis.measure(tmp_path / f"seed-{index}", PARENT_SETTINGS).items():
            values.setdefault(key, []).append(value)
    return {key: decide(parent_child_analysis.FIGURE_ID, key, vals, "test").verdict for key, vals in values.items()}


PARENT_KEYS = ["fastest-early", "early-kernel-better", "mode-connectivity", "tangent-moves", "small-lr-stuck",
               "large-lr-escapes"]


def test_parent_child_claims_hold_where_the_sentences_are_true(tmp_path):
    runs = [{"fastest": 0.4 + d, "ratio": 4.0 + d, "remaining": 0.05 + d / 10, "distance": 0.5 + d / 10,
             "small": 0.95 - d / 10, "large": 0.2 + d / 10} for d in (0.0, 0.05, -0.05, 0.02)]
    assert parent_verdicts(tmp_path, runs) == dict.fromkeys(PARENT_KEYS, HOLDS)


def test_parent_child_claims_fail_where_the_sentences_are_false(tmp_path):
    runs = [{"fastest": -0.3 + d, "ratio": 1.2 + d, "remaining": 0.9 + d, "distance": 0.05 + d / 10,
             "small": 0.4 + d, "large": 0.95 - d / 10} for d in (0.0, 0.05, -0.05, 0.02)]
    assert parent_verdicts(tmp_path, runs) == dict.fromkeys(PARENT_KEYS, FAILS)


def test_parent_child_claims_are_undecided_on_noise_around_the_threshold(tmp_path):
    runs = [{"fastest": d / 2, "ratio": 3.0 + 2 * d, "remaining": 0.2 + d / 2, "distance": 0.29 + d / 2,
             "small": 0.8 + d / 2, "large": 0.5 + d} for d in SYMMETRIC_NOISE]
    assert parent_verdicts(tmp_path, runs) == dict.fromkeys(PARENT_KEYS, UNDECIDED)


def test_parent_child_claims_of_one_run(tmp_path):
    # The children beat the fully trained (overfitting) parent: the old ratio of excess errors over it
    # was infinite; the raw error ratio is 0.9 / 0.225 = 4.
    write_parent_run(tmp_path, fastest=0.4, ratio=4.0, remaining=0.05, distance=0.5, small=0.95, large=0.2,
                     final_parent_error=0.3)
    rows = parent_child_analysis.claims(tmp_path, PARENT_SETTINGS, "test")
    assert [row.claim for row in rows] == [spec.claim for spec in catalog.figure("fig-parent-child").claims]
    assert all(row.verdict == UNDECIDED and "at least 2 replicates" in row.to_decide for row in rows)
    by_key = dict(zip(PARENT_KEYS, rows))
    assert float(by_key["early-kernel-better"].estimate) == pytest.approx(4.0)
    assert "fully trained parent 30.0%" in by_key["early-kernel-better"].details
    assert float(by_key["fastest-early"].estimate) == pytest.approx(0.4)
    assert float(by_key["mode-connectivity"].estimate) == pytest.approx(0.05)
    assert "no independent evidence" in by_key["tangent-moves"].details
    # The minimum (sharpness 180) is stable at the small lr (limit 190) and unstable at the large
    # one (limit 76): both outcomes are forced by linear stability, and the rows say so.
    assert "95% of this lr's stability limit 190 (below)" in by_key["small-lr-stuck"].details
    assert "forced by linear stability" in by_key["large-lr-escapes"].details
    assert "(above)" in by_key["large-lr-escapes"].details


def test_a_line_without_a_barrier_leaves_the_whole_barrier_on_the_curve(tmp_path):
    assert parent_child_analysis.remaining_barrier({"line": 0.0, "bezier": 0.0}) == 1.0
    assert parent_child_analysis.remaining_barrier({"line": 2.0, "bezier": 0.5}) == 0.25
