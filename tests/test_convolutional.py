"""The CNTK at the reference definitions: our recursion (written out for speed) against the stax
kernel_fn, against a direct implementation of the reference code's recursion, and its 1-pixel limit."""

from __future__ import annotations

import numpy as np
import pytest

from ntk_study.kernels.convolutional import FIXED_ENDS, READOUTS, cntk_by_depth, convolutional, trained
from ntk_study.kernels.fully_connected import fully_connected, fully_connected_ntk
from ntk_study.kernels.precision import enable_float64

enable_float64()


def _box_sum(cov: np.ndarray) -> np.ndarray:
    """A 3x3 "SAME" convolution of a pixel-pair covariance (H, W, H, W): the 9 offsets, each moving
    both pixels of a pair alike, zero outside the image."""
    h, w = cov.shape[:2]
    padded = np.pad(cov, 1)
    return sum(padded[1 + a:1 + a + h, 1 + b:1 + b + w, 1 + a:1 + a + h, 1 + b:1 + b + w]
               for a in (-1, 0, 1) for b in (-1, 0, 1))


def _relu_step(cov: np.ndarray, var_x: np.ndarray, var_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference's activation step: the ReLU covariance and derivative covariance with c_sigma = 2,
    both divided by the 9 taps of the next convolution."""
    scale = np.sqrt(var_x[:, :, None, None] * var_z[None, None])
    rho = np.clip(cov / scale, -1.0, 1.0)
    angle = np.arccos(rho)
    return (rho * (np.pi - angle) + np.sqrt(1 - rho**2)) * scale / (9 * np.pi), (np.pi - angle) / (9 * np.pi)


def reference_cntk(x: np.ndarray, z: np.ndarray, depth: int, gap: bool, fix: bool) -> float:
    """One kernel value of the reference code (CNTK.py: ``xx`` and ``xz``) for images (H, W, C):
    ``depth`` = convolutions + 1; ``fix``: first and last layer not trained. Float64 throughout."""
    pairs = {"xx": (x, x), "zz": (z, z), "xz": (x, z)}
    cov = {key: _box_sum(np.einsum("hwc,xyc->hwxy", a, b)) for key, (a, b) in pairs.items()}
    ntk = np.zeros_like(cov["xz"]) if fix else cov["xz"].copy()

    def activate():
        diagonal = {key: np.einsum("hwhw->hw", cov[key]) for key in ("xx", "zz")}
        steps = {key: _relu_step(cov[key], diagonal[key[0] * 2], diagonal[key[1] * 2]) for key in pairs}
        return {key: step[0] for key, step in steps.items()}, steps["xz"][1]

    for _ in range(depth - 2):
        relu_cov, derivative = activate()
        ntk = _box_sum(ntk * derivative + relu_cov["xz"])
        cov = {key: _box_sum(value) for key, value in relu_cov.items()}
    relu_cov, derivative = activate()
    ntk = ntk * derivative + relu_cov["xz"]
    if fix:
        ntk = ntk - relu_cov["xz"]
    return float(ntk.mean() if gap else np.einsum("hwhw->", ntk))


def reference_gram(x1: np.ndarray, x2: np.ndarray, depth: int, readout: str, fix: bool | None = None) -> np.ndarray:
    fix = FIXED_ENDS[readout] if fix is None else fix
    return np.array([[reference_cntk(a, b, depth, readout == "gap", fix) for b in x2] for a in x1])


def proportionality_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative deviation of a / b from its mean: 0 when a is a constant multiple of b."""
    ratio = a / b
    return float(np.max(np.abs(ratio / ratio.mean() - 1)))


IMAGES = np.random.default_rng(0).normal(size=(5, 5, 4, 2))  # non-square, to catch a swapped axis


@pytest.mark.parametrize("readout", READOUTS)
def test_cntk_equals_the_reference_recursion_at_its_depth_count(readout):
    """Ours = 2 / C x the reference (C input channels; V also / (H W): it sums where ours averages)."""
    x1, x2 = IMAGES[:3], IMAGES[2:]
    depths = [3, 4, 6]
    ours = cntk_by_depth(x1, x2, depths, batch=2)
    channels, pixels = IMAGES.shape[-1], IMAGES.shape[1] * IMAGES.shape[2]
    constant = 2 / channels / (pixels if readout == "vanilla" else 1)
    for depth in depths:
        np.testing.assert_allclose(ours[readout, depth], constant * reference_gram(x1, x2, depth, readout),
                                   rtol=1e-10)


@pytest.mark.parametrize("readout", READOUTS)
def test_the_reference_check_tells_the_old_definitions_apart(readout):
    """The comparison above can fail: one depth off (depth = convolutions) or the GAP ends trained
    (and, for V, fixed) give kernels that are not proportional to ours."""
    x1, x2 = IMAGES[:3], IMAGES[2:]
    ours = cntk_by_depth(x1, x2, [3], batch=2)[readout, 3]
    assert proportionality_error(ours, reference_gram(x1, x2, 3, readout)) < 1e-10
    assert proportionality_error(ours, reference_gram(x1, x2, 4, readout)) > 1e-3
    assert proportionality_error(ours, reference_gram(x1, x2, 3, readout, fix=not FIXED_ENDS[readout])) > 1e-3


@pytest.mark.parametrize("readout", READOUTS)
def test_cntk_by_depth_equals_stax_kernel(readout):
    x1, x2 = IMAGES[:3], IMAGES[3:]  # distinct images: arccos near 1 costs ~1e-9 relative
    kernels = cntk_by_depth(x1, x2, [3, 5], batch=2)
    for depth in (3, 5):
        expected = np.asarray(convolutional(depth, readout)[2](x1, x2, "ntk"))
        np.testing.assert_allclose(kernels[readout, depth], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depth", [3, 4])
def test_one_pixel_cntk_is_the_fully_connected_ntk(depth):
    """On 1x1 images only the centre tap of each 3x3 filter sees data, so every convolution is a
    Dense layer with weight variance divided by the filter size 9: CNTK-V = 9^-(depth-1) x the
    FC NTK with depth - 1 hidden layers; CNTK-GAP is the same with the bottom layer fixed and the
    readout's own term (the FC NNGP) taken off."""
    x = np.random.default_rng(depth).normal(size=(6, 3))
    kernels = cntk_by_depth(x.reshape(6, 1, 1, 3), x.reshape(6, 1, 1, 3), [depth])
    hidden = depth - 1
    vanilla = fully_connected_ntk(x, None, hidden)
    gap = fully_connected_ntk(x, None, hidden, fixed=1) - np.asarray(fully_connected(hidden)[2](x, None, "nngp"))
    # arccos near 1 on the diagonal: ~1e-9 relative
    np.testing.assert_allclose(kernels["vanilla", depth], vanilla / 9.0**hidden, rtol=1e-7)
    np.testing.assert_allclose(kernels["gap", depth], gap / 9.0**hidden, rtol=1e-7)


def test_fixed_ends_get_no_gradient():
    """The finite CNN trains what its kernel trains: with GAP, nothing of the first and last layer."""
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(IMAGES[:2])
    for readout in READOUTS:
        init_fn, apply_fn, _ = convolutional(3, readout, width=4)
        params = init_fn(jax.random.PRNGKey(0), x.shape)[1]
        grads = jax.grad(lambda p: jnp.sum(apply_fn(trained(p, readout), x) ** 2))(params)
        ends = [float(jnp.abs(g).sum()) for g in jax.tree_util.tree_leaves([grads[0], grads[-1]])]
        middle = [float(jnp.abs(g).sum()) for g in jax.tree_util.tree_leaves(grads[1:-1])]
        assert all(m > 0 for m in middle)
        assert all((e == 0) == FIXED_ENDS[readout] for e in ends), (readout, ends)


def test_depth_counts_the_readout():
    with pytest.raises(ValueError, match="CNTK-gap depth must be at least 3"):
        cntk_by_depth(IMAGES[:1], IMAGES[:1], [2])
    init_fn, _, _ = convolutional(4, "vanilla", width=4)
    params = init_fn(__import__("jax").random.PRNGKey(0), IMAGES[:1].shape)[1]
    assert sum(len(layer) == 2 and layer[0] is not None and np.ndim(layer[0]) == 4 for layer in params) == 3


def test_gap_differs_from_vanilla_on_real_images():
    x = np.random.default_rng(1).normal(size=(3, 4, 4, 3))
    kernels = cntk_by_depth(x, x, [3])
    assert proportionality_error(kernels["gap", 3], kernels["vanilla", 3]) > 1e-3


def test_float32_arccos_is_as_accurate_as_float32_allows():
    """Float32 kernels take a polynomial arccos (kernels.convolutional._arccos)."""
    import jax.numpy as jnp

    from ntk_study.kernels.convolutional import _arccos

    x = np.linspace(-1, 1, 200_001).astype(np.float32)
    reference = np.arccos(x.astype(np.float64))
    fast_error = np.abs(np.asarray(_arccos(jnp.asarray(x)), np.float64) - reference).max()
    library_error = np.abs(np.asarray(jnp.arccos(jnp.asarray(x)), np.float64) - reference).max()
    assert fast_error < 2 * library_error + 1e-7 and fast_error < 1e-6


def test_float32_kernels_match_float64():
    """Same kernels up to float32's resolution (near rho = 1, on the diagonal, arccos amplifies the
    rounding of rho: ~3e-4 relative at depth 6 with the library arccos as well)."""
    x = np.random.default_rng(2).normal(size=(4, 6, 6, 3))
    exact = cntk_by_depth(x, x, [3, 6])
    fast = cntk_by_depth(x.astype(np.float32), x.astype(np.float32), [3, 6])
    for key, value in exact.items():
        np.testing.assert_allclose(fast[key], value, rtol=1e-3)
        off_diagonal = ~np.eye(len(x), dtype=bool)
        np.testing.assert_allclose(fast[key][off_diagonal], value[off_diagonal], rtol=2e-5)
