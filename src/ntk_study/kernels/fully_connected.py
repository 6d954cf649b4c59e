"""The fully-connected ReLU NTK of Arora et al. (2020) for tabular data, with the bottom layers fixed.

``fully_connected(depth)`` is the stax model: ``depth`` blocks Dense -> ReLU, then a Dense readout,
no biases, W_std = sqrt(2) (NTK parameterisation). Fixing the bottom ``fixed`` layers (not training
them) removes their gradients from the NTK: the recursion Theta^(h+1) = Sigma^(h+1) + Theta^(h) dSigma^(h+1)
then starts from Theta^(fixed) = 0. neural-tangents kernel functions accept a Kernel as input, so
the prefix's kernel is computed, its NTK part zeroed, and the rest of the network applied to it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from neural_tangents import stax

from ntk_study.padding import pad_rows

RELU_W_STD = float(np.sqrt(2.0))


def _blocks(count: int, width: int = 512, parameterization: str = "ntk") -> list:
    layers = []
    for _ in range(count):
        layers += [stax.Dense(width, W_std=RELU_W_STD, b_std=None, parameterization=parameterization), stax.Relu()]
    return layers


def fully_connected(depth: int, width: int = 512, n_outputs: int = 1, parameterization: str = "ntk"):
    """``(init_fn, apply_fn, kernel_fn)`` of the depth-``depth`` ReLU network with a linear readout.

    ``parameterization="ntk"`` is the network whose infinite-width NTK the kernel table uses (and
    the "NTK init" baseline); ``"standard"`` with the same W_std is He initialisation.
    """
    return stax.serial(*_blocks(depth, width, parameterization),
                       stax.Dense(n_outputs, W_std=RELU_W_STD, b_std=None, parameterization=parameterization))


def phase_network(depth: int, width: int, sigma_w2: float, n_outputs: int = 1, biases: bool = False):
    """``(init_fn, apply_fn, kernel_fn)`` of the ReLU network of Seleznova & Kutyniok (2022).

    ``depth`` hidden layers Dense(width) -> ReLU and a linear readout, every weight
    W_ij ~ N(0, sigma_w2 / fan-in) (standard parameterisation, as in their Theorem 7): sigma_w2 < 2 is
    the ordered phase, 2 the edge of chaos (He initialisation), > 2 the chaotic phase. With
    ``biases``, every layer has a bias that starts at zero (sigma_b^2 = 0) and is trained, as in the
    paper's code, so its gradient is part of the NTK; without, there are no bias parameters. The
    hidden layers after the first are one ``stax.repeat`` block (a ``lax.scan``), so a network of any
    depth compiles as fast as a shallow one; they still get independent weights. The analytic
    ``kernel_fn`` of the standard parameterisation uses the finite widths: its NTK(x, x) is the mean
    of the empirical Theta(x, x) of this network at any width (tested in tests/test_chapter5_phases.py).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    w_std, b_std = float(np.sqrt(sigma_w2)), (0.0 if biases else None)
    hidden = stax.serial(stax.Dense(width, W_std=w_std, b_std=b_std, parameterization="standard"), stax.Relu())
    return stax.serial(hidden, stax.repeat(hidden, depth - 1),
                       stax.Dense(n_outputs, W_std=w_std, b_std=b_std, parameterization="standard"))


def fully_connected_ntk(x1: np.ndarray, x2: np.ndarray | None, depth: int, fixed: int = 0) -> np.ndarray:
    """The NTK of ``fully_connected(depth)`` with its bottom ``fixed`` hidden layers not trained."""
    if not 0 <= fixed < depth + 1:
        raise ValueError(f"fixed must be in 0..{depth}, got {fixed}")
    _, _, prefix = stax.serial(*_blocks(fixed)) if fixed else (None, None, None)
    _, _, suffix = stax.serial(*_blocks(depth - fixed), stax.Dense(1, W_std=RELU_W_STD, b_std=None))
    x1 = jnp.asarray(x1)
    x2 = None if x2 is None else jnp.asarray(x2)
    if not fixed:
        return np.asarray(suffix(x1, x2, "ntk"))
    kernel = prefix(x1, x2, None)  # the full Kernel object, which later layers accept as input
    kernel = kernel.replace(ntk=jnp.zeros_like(kernel.ntk))
    return np.asarray(suffix(kernel).ntk)


def depth_fixed_pairs(max_depth: int) -> list[tuple[int, int]]:
    """Every (depth L, fixed bottom layers f) with 1 <= L <= max_depth and 0 <= f < L."""
    return [(depth, fixed) for depth in range(1, max_depth + 1) for fixed in range(depth)]


def _ntk_table_fn(max_depth: int):
    """A jitted map (x1, x2) -> stacked NTKs over depth_fixed_pairs(max_depth), sharing the prefixes."""
    _, _, block = stax.serial(*_blocks(1))
    _, _, readout = stax.Dense(1, W_std=RELU_W_STD, b_std=None)
    _, _, first = stax.serial(*_blocks(0), stax.Identity())

    def table(x1, x2):
        kernels = {}
        prefix = first(x1, x2, None)  # the inputs as a Kernel (nngp = x1 x2^T / d)
        for fixed in range(max_depth):
            kernel = prefix.replace(ntk=jnp.zeros_like(prefix.ntk)) if fixed else prefix
            for depth in range(fixed + 1, max_depth + 1):
                kernel = block(kernel)
                kernels[depth, fixed] = readout(kernel).ntk
            prefix = block(prefix)
        return jnp.stack([kernels[pair] for pair in depth_fixed_pairs(max_depth)])

    return jax.jit(table)


def fully_connected_ntk_table(x: np.ndarray, max_depth: int, row_block: int = 512) -> np.ndarray:
    """NTKs of x with itself for every (depth, fixed) pair, shape (pairs, n, n), in row blocks.

    x is zero-padded to a multiple of 128 rows and processed ``row_block`` rows at a time, so few
    compiled shapes serve every dataset and memory stays O(row_block x n) per layer (padded rows
    are dropped from the result).
    """
    table = _ntk_table_fn(max_depth)
    n = x.shape[0]
    padded = -(-n // 128) * 128
    x = pad_rows(x, padded)
    row_block = min(row_block, padded)
    out = np.empty((len(depth_fixed_pairs(max_depth)), n, n), dtype=np.asarray(x).dtype)
    for start in range(0, n, row_block):
        count = min(row_block, n - start)
        out[:, start:start + count] = np.asarray(table(pad_rows(x[start:start + row_block], row_block), x))[
            :, :count, :n]
    return out
