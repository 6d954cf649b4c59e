"""Convolutional NTK (Arora et al. 2019) at the definitions of the reference code
(github.com/ruosongwang/CNTK, the code behind the published Table 1).

Depth counts as the reference's ``--depth`` does, "#conv layers + 1": depth L is L - 1 blocks of
(3x3 convolution, ReLU) and then a linear readout after flattening ("CNTK-V", vanilla) or global
average pooling ("CNTK-GAP"). The two published columns also differ in which layers are trained:
CNTK-V trains every layer (``--fix no``), CNTK-GAP keeps the first convolution and the readout at
their initial values (``--fix yes``, Section 4.2 of the paper). A layer that is not trained adds
no gradient to the NTK.

One stax definition gives the finite CNN and its kernel (``convolutional``). ``cntk_by_depth``
walks the same recursion one convolution at a time, applying both readouts at every requested
depth, so all depths and both readouts come from one pass over the layers; tests check it
against the stax kernel_fn and against a direct implementation of the reference recursion.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from neural_tangents import stax

from ntk_study.kernels.fully_connected import RELU_W_STD
from ntk_study.padding import pad_rows

READOUTS = ("vanilla", "gap")
# The published kernels: CNTK-V trains every layer, CNTK-GAP fixes the first and the last layer.
FIXED_ENDS = {"vanilla": False, "gap": True}


def _conv(width: int, parameterization: str = "ntk"):
    return stax.Conv(width, (3, 3), padding="SAME", W_std=RELU_W_STD, b_std=None, parameterization=parameterization)


def _readout(readout: str, n_outputs: int, parameterization: str = "ntk"):
    pool = {"vanilla": stax.Flatten(), "gap": stax.GlobalAvgPool()}[readout]
    return stax.serial(pool, stax.Dense(n_outputs, W_std=RELU_W_STD, b_std=None, parameterization=parameterization))


def check_depth(depth: int, readout: str) -> None:
    """Depth counts the readout, so at least 2; with fixed ends, 3 (else no layer is trained)."""
    least = 3 if FIXED_ENDS[readout] else 2
    if depth < least:
        raise ValueError(f"CNTK-{readout} depth must be at least {least} (convolutions + 1), got {depth}")


def convolutional(depth: int, readout: str, width: int = 128, n_outputs: int = 10, parameterization: str = "ntk"):
    """``(init_fn, apply_fn, kernel_fn)`` of the CNN: (depth - 1) x (Conv 3x3, ReLU), then the readout.

    ``kernel_fn`` is the NTK of the network as it is trained (see ``trained``): with fixed ends,
    the first convolution's output kernel enters the other layers with its NTK part zeroed (its
    weights give no gradient), and the readout's own term, which in the NTK parameterisation
    without bias is exactly the output NNGP (Theta_out = Sigma_out + W_std^2 Theta_in), is taken
    off the output NTK. ``kernel_fn(x1, x2, get)`` takes get = "ntk", "nngp" or None (the Kernel).
    """
    check_depth(depth, readout)
    first = [_conv(width, parameterization), stax.Relu()]
    rest = []
    for _ in range(depth - 2):
        rest += [_conv(width, parameterization), stax.Relu()]
    init_fn, apply_fn, kernel_fn = stax.serial(*first, *rest, _readout(readout, n_outputs, parameterization))
    if not FIXED_ENDS[readout]:
        return init_fn, apply_fn, kernel_fn
    if parameterization != "ntk":
        raise ValueError("the fixed-ends kernel takes the readout's own term as the output NNGP, which holds in "
                         f"the NTK parameterisation only, not {parameterization!r}")
    first_kernel_fn = stax.serial(*first)[2]
    rest_kernel_fn = stax.serial(*rest, _readout(readout, n_outputs, parameterization))[2]

    def fixed_ends_kernel_fn(x1, x2=None, get: str | None = None):
        kernel = first_kernel_fn(x1, x2, None)
        kernel = rest_kernel_fn(kernel.replace(ntk=jnp.zeros_like(kernel.ntk)))
        kernel = kernel.replace(ntk=kernel.ntk - kernel.nngp)
        return kernel if get is None else getattr(kernel, get)

    return init_fn, apply_fn, fixed_ends_kernel_fn


def trained(params: Any, readout: str) -> Any:
    """``convolutional``'s parameters as its kernel trains them: with fixed ends, the first
    convolution's and the readout's parameters are cut from the gradient (stop_gradient), so an
    optimiser leaves them at their initial values."""
    if not FIXED_ENDS[readout]:
        return params
    frozen = jax.lax.stop_gradient
    return [frozen(params[0]), *params[1:-1], frozen(params[-1])]


def _shift_sum(cov: jax.Array, spatial_axes: tuple[int, ...]) -> jax.Array:
    """Sum over the 9 offsets of a 3x3 "SAME" filter, the same offset applied to every pixel axis pair.

    ``spatial_axes`` are (h, w) for a variance map or (h, w, h', w') for a covariance; offsets
    shift h and h' together and w and w' together (both images see the same filter weight). The
    3x3 box is separable: 3 shifts along the widths, then 3 along the heights (6 sums, not 9).
    """
    for axes in (spatial_axes[1::2], spatial_axes[0::2]):
        padded = jnp.pad(cov, [(1, 1) if axis in axes else (0, 0) for axis in range(cov.ndim)])
        total = jnp.zeros_like(cov)
        for offset in range(3):
            starts = [offset if axis in axes else 0 for axis in range(cov.ndim)]
            total = total + jax.lax.dynamic_slice(padded, starts, cov.shape)
        cov = total
    return cov


# Abramowitz & Stegun 4.4.46: arccos(x) = sqrt(1 - x) (a0 + a1 x + ... + a7 x^7) on [0, 1], error below 2e-8.
ARCCOS_COEFFICIENTS = (1.5707963050, -0.2145988016, 0.0889789874, -0.0501743046, 0.0308918810, -0.0170881256,
                       0.0066700901, -0.0012624911)


def _arccos(x: jax.Array) -> jax.Array:
    """arccos; in float32 a polynomial whose error (2e-8) is below float32 resolution: XLA's CPU
    arccos runs as scalar code, about 60x slower, and took most of the kernel time (measured at
    8x8). Float64 (the tests' precision) keeps jnp.arccos."""
    if x.dtype == jnp.float64:
        return jnp.arccos(x)
    magnitude = jnp.abs(x)
    polynomial = ARCCOS_COEFFICIENTS[-1]
    for coefficient in ARCCOS_COEFFICIENTS[-2::-1]:
        polynomial = polynomial * magnitude + coefficient
    angle = jnp.sqrt(1 - magnitude) * polynomial
    return jnp.where(x < 0, jnp.pi - angle, angle)


def _relu_expectations(cov: jax.Array, var1: jax.Array, var2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for (u, v) centred Gaussian (arc-cosine kernels)."""
    norms = jnp.sqrt(var1 * var2)
    safe = jnp.where(norms > 0, norms, 1.0)
    rho = jnp.clip(cov / safe, -1.0, 1.0)
    angle = _arccos(rho)
    value = jnp.where(norms > 0, safe * (jnp.sqrt(1 - rho**2) + (jnp.pi - angle) * rho) / (2 * jnp.pi), 0.0)
    return value, (jnp.pi - angle) / (2 * jnp.pi)


def _pixel_diagonal(cov: jax.Array) -> jax.Array:
    """(n1, n2, H, W, H, W) -> (n1, n2, H, W): the same-pixel entries."""
    return jnp.einsum("abhwhw->abhw", cov)


@functools.lru_cache(maxsize=None)
def _by_depth_fn(depths: tuple[int, ...]):
    """The recursion of ``convolutional``'s kernels, written out (it equals stax's kernel_fn; see the
    tests). stax's own full-covariance convolution runs as a 4-D convolution that is far slower on
    CPU; this version adds shifted slices. Layout: cov (n1, n2, H, W, H, W).

    The offsets of a convolution move both pixels of a pair together, so same-pixel entries only
    ever mix with same-pixel entries: CNTK-V (a sum over same-pixel pairs) needs only the pixel
    diagonal of its NTK, and only CNTK-GAP needs the full pixel-pair NTK, with its first layer fixed.

    The layers run in a ``lax.scan``: one layer's buffers are live at a time, whatever the depth
    (an unrolled loop let XLA keep tens of pixel-pair covariances alive at depth 21)."""
    conv_scale = RELU_W_STD**2 / 9  # W_std^2 / filter size (NTK parameterisation)

    def layer(carry, trains_own_weights):
        nngp, gap_ntk, vanilla_ntk, var1, var2 = carry
        nngp = conv_scale * _shift_sum(nngp, (2, 3, 4, 5))
        # A trained convolution adds its own term, its output NNGP; CNTK-GAP's first one is fixed.
        gap_ntk = conv_scale * _shift_sum(gap_ntk, (2, 3, 4, 5)) + trains_own_weights * nngp
        vanilla_ntk = conv_scale * _shift_sum(vanilla_ntk, (2, 3)) + _pixel_diagonal(nngp)
        var1 = conv_scale * _shift_sum(var1, (1, 2))
        var2 = conv_scale * _shift_sum(var2, (1, 2))
        nngp, derivative = _relu_expectations(nngp, var1[:, None, :, :, None, None], var2[None, :, None, None])
        gap_ntk = gap_ntk * derivative
        vanilla_ntk = vanilla_ntk * _pixel_diagonal(derivative)
        # Readouts: the trained one (V) adds its own term, the NNGP; the fixed one (GAP) does not.
        readouts = jnp.stack([RELU_W_STD**2 * jnp.mean(_pixel_diagonal(nngp) + vanilla_ntk, axis=(2, 3)),
                              RELU_W_STD**2 * jnp.mean(gap_ntk, axis=(2, 3, 4, 5))])
        return (nngp, gap_ntk, vanilla_ntk, var1 / 2, var2 / 2), readouts

    convolutions = max(depths) - 1
    trains_own_weights = (jnp.arange(convolutions) > 0).astype(float)  # the first convolution: fixed (GAP)

    @jax.jit
    def kernels(x1, x2):
        channels = x1.shape[-1]
        nngp = jnp.einsum("ahwc,bxyc->abhwxy", x1, x2) / channels
        var1 = jnp.sum(x1**2, axis=-1) / channels  # (n1, H, W)
        var2 = jnp.sum(x2**2, axis=-1) / channels
        start = (nngp, jnp.zeros_like(nngp), jnp.zeros_like(_pixel_diagonal(nngp)), var1, var2)
        _, by_layer = jax.lax.scan(layer, start, trains_own_weights.astype(nngp.dtype))
        # by_layer: (convolutions, readout, n1, n2); depth L reads after L - 1 convolutions
        return by_layer[jnp.array(depths) - 2].reshape(len(depths) * len(READOUTS), *by_layer.shape[2:])

    return kernels


def block_entries() -> int:
    """Entries of one block's pixel-pair covariance (batch^2 x (H W)^2). On an accelerator 2^26
    (256 MB in float32) keeps it busy; on CPU a block that stays in cache ran fastest: 2^18 (1 MB,
    8 images at 8x8) gave 1.5-2x the pairs per second of 2^22 (32 images at 8x8), on 2 cores."""
    return 2**18 if jax.default_backend() == "cpu" else 2**26


def cntk_by_depth(x1: np.ndarray, x2: np.ndarray, depths: list[int],
                  batch: int | None = None) -> dict[tuple[str, int], np.ndarray]:
    """CNTK(x1, x2) for every readout and depth, {(readout, depth): (n1, n2)}, in batch x batch blocks.

    Images are (n, H, W, C). Blocks are zero-padded to ``batch`` so one compiled shape serves all;
    by default the batch keeps a block's covariance within ``block_entries()`` (on an accelerator
    32 images at 8x8 or 16x16, 8 at 32x32; on CPU 8 at 8x8).
    """
    for depth in depths:
        for readout in READOUTS:
            check_depth(depth, readout)
    if batch is None:
        pixels = x1.shape[1] * x1.shape[2]
        batch = max(1, min(32, int(np.sqrt(block_entries()) // pixels)))
    depths = tuple(sorted(set(depths)))
    fn = _by_depth_fn(depths)
    x1, x2 = np.asarray(x1), np.asarray(x2)
    out = np.zeros((len(depths) * len(READOUTS), len(x1), len(x2)))
    for i in range(0, len(x1), batch):
        rows = pad_rows(x1[i:i + batch], batch)
        for j in range(0, len(x2), batch):
            block = np.asarray(fn(rows, pad_rows(x2[j:j + batch], batch)))
            out[:, i:i + batch, j:j + batch] = block[:, :min(batch, len(x1) - i), :min(batch, len(x2) - j)]
    return {key: out[k] for k, key in enumerate(cntk_keys(depths))}


def cntk_keys(depths: list[int] | tuple[int, ...]) -> list[tuple[str, int]]:
    """(readout, depth) of every kernel ``cntk_by_depth`` gives, in the order it computes them."""
    return [(readout, depth) for depth in sorted(set(depths)) for readout in READOUTS]
