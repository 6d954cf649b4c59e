"""Convolutional NTK (Arora et al. 2019): ``depth`` 3x3 convolutions with ReLU, then a vanilla
(flatten, "CNTK-V") or global-average-pooling ("CNTK-GAP") linear readout.

One stax definition gives the finite CNN and its kernel. ``cntk_by_depth`` walks the same
recursion one convolution at a time, applying both readouts at every requested depth, so all
depths and both readouts come from one pass over the layers; a test checks it against the stax
kernel_fn of ``convolutional``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from neural_tangents import stax

from ntk_study.kernels.fully_connected import RELU_W_STD
from ntk_study.padding import pad_rows

READOUTS = ("vanilla", "gap")


def _conv(width: int, parameterization: str = "ntk"):
    return stax.Conv(width, (3, 3), padding="SAME", W_std=RELU_W_STD, b_std=None, parameterization=parameterization)


def _readout(readout: str, n_outputs: int, parameterization: str = "ntk"):
    pool = {"vanilla": stax.Flatten(), "gap": stax.GlobalAvgPool()}[readout]
    return stax.serial(pool, stax.Dense(n_outputs, W_std=RELU_W_STD, b_std=None, parameterization=parameterization))


def convolutional(depth: int, readout: str, width: int = 128, n_outputs: int = 10, parameterization: str = "ntk"):
    """``(init_fn, apply_fn, kernel_fn)`` of the CNN: depth x (Conv 3x3, ReLU), then the readout."""
    layers = []
    for _ in range(depth):
        layers += [_conv(width, parameterization), stax.Relu()]
    return stax.serial(*layers, _readout(readout, n_outputs, parameterization))


def _shift_sum(cov: jax.Array, spatial_axes: tuple[int, ...]) -> jax.Array:
    """Sum over the 9 offsets of a 3x3 "SAME" filter, the same offset applied to every pixel axis pair.

    ``spatial_axes`` are (h, w) for a variance map or (h, w, h', w') for a covariance; offsets
    shift h and h' together and w and w' together (both images see the same filter weight).
    """
    padding = [(1, 1) if axis in spatial_axes else (0, 0) for axis in range(cov.ndim)]
    padded = jnp.pad(cov, padding)
    sizes = [cov.shape[axis] for axis in spatial_axes]
    total = jnp.zeros_like(cov)
    heights, widths = spatial_axes[0::2], spatial_axes[1::2]
    for dh in range(3):
        for dw in range(3):
            starts = [0] * cov.ndim
            for axis in heights:
                starts[axis] = dh
            for axis in widths:
                starts[axis] = dw
            total = total + jax.lax.dynamic_slice(padded, starts, [
                sizes[spatial_axes.index(axis)] if axis in spatial_axes else cov.shape[axis]
                for axis in range(cov.ndim)])
    return total


def _relu_expectations(cov: jax.Array, var1: jax.Array, var2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for (u, v) centred Gaussian (arc-cosine kernels)."""
    norms = jnp.sqrt(var1 * var2)
    safe = jnp.where(norms > 0, norms, 1.0)
    rho = jnp.clip(cov / safe, -1.0, 1.0)
    angle = jnp.arccos(rho)
    value = jnp.where(norms > 0, safe * (jnp.sqrt(1 - rho**2) + (jnp.pi - angle) * rho) / (2 * jnp.pi), 0.0)
    return value, (jnp.pi - angle) / (2 * jnp.pi)


@functools.lru_cache(maxsize=None)
def _by_depth_fn(depths: tuple[int, ...]):
    """The recursion of ``convolutional``'s kernel, written out (it equals stax's kernel_fn; see the
    tests). stax's own full-covariance convolution runs as a 4-D convolution that is far slower on
    CPU; this version adds 9 shifted slices. Layout: cov (n1, n2, H, W, H, W).

    The layers run in a ``lax.scan``: one layer's buffers are live at a time, whatever the depth
    (an unrolled loop let XLA keep tens of pixel-pair covariances alive at depth 21)."""
    conv_scale = RELU_W_STD**2 / 9  # W_std^2 / filter size (NTK parameterisation)

    def layer(carry, _):
        nngp, ntk, var1, var2 = carry
        nngp = conv_scale * _shift_sum(nngp, (2, 3, 4, 5))
        ntk = conv_scale * _shift_sum(ntk, (2, 3, 4, 5)) + nngp
        var1 = conv_scale * _shift_sum(var1, (1, 2))
        var2 = conv_scale * _shift_sum(var2, (1, 2))
        nngp, derivative = _relu_expectations(nngp, var1[:, None, :, :, None, None], var2[None, :, None, None])
        ntk = ntk * derivative
        total = nngp + ntk
        readouts = jnp.stack([RELU_W_STD**2 * jnp.mean(jnp.einsum("abhwhw->abhw", total), axis=(2, 3)),  # vanilla
                              RELU_W_STD**2 * jnp.mean(total, axis=(2, 3, 4, 5))])  # gap
        return (nngp, ntk, var1 / 2, var2 / 2), readouts

    @jax.jit
    def kernels(x1, x2):
        channels = x1.shape[-1]
        nngp = jnp.einsum("ahwc,bxyc->abhwxy", x1, x2) / channels
        var1 = jnp.sum(x1**2, axis=-1) / channels  # (n1, H, W)
        var2 = jnp.sum(x2**2, axis=-1) / channels
        _, by_layer = jax.lax.scan(layer, (nngp, jnp.zeros_like(nngp), var1, var2), None, length=max(depths))
        # by_layer: (depth, readout, n1, n2); keep the requested depths, readouts in READOUTS order
        return by_layer[jnp.array(depths) - 1].reshape(len(depths) * len(READOUTS), *by_layer.shape[2:])

    return kernels


# Entries of one block's pixel-pair covariance (batch^2 x (H W)^2): 2^26 is 256 MB in float32.
BLOCK_ENTRIES = 2**26


def cntk_by_depth(x1: np.ndarray, x2: np.ndarray, depths: list[int],
                  batch: int | None = None) -> dict[tuple[str, int], np.ndarray]:
    """CNTK(x1, x2) for every readout and depth, {(readout, depth): (n1, n2)}, in batch x batch blocks.

    Images are (n, H, W, C). Blocks are zero-padded to ``batch`` so one compiled shape serves all;
    by default the batch keeps a block's covariance within BLOCK_ENTRIES (32 images at 8x8 or
    16x16, 8 at 32x32).
    """
    if batch is None:
        pixels = x1.shape[1] * x1.shape[2]
        batch = max(1, min(32, int(np.sqrt(BLOCK_ENTRIES) // pixels)))
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


