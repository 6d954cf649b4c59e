"""The fully-connected ReLU NTK of Arora et al. (2020) for tabular data, with the bottom layers fixed.

``fully_connected(depth)`` is the stax model: ``depth`` hidden blocks Dense -> ReLU (0 = the linear
model), then a Dense readout, no biases, W_std = sqrt(2) (NTK parameterisation). Fixing the bottom
``fixed`` layers (not training them) removes their gradients from the NTK: the recursion
Theta^(h+1) = Sigma^(h+1) + Theta^(h) dSigma^(h+1) then starts from Theta^(fixed) = 0; with
fixed = depth only the readout is trained and the NTK is the last hidden layer's NNGP.
neural-tangents kernel functions accept a Kernel as input, so the prefix's kernel is computed, its
NTK part zeroed, and the rest of the network applied to it. ``reference_scale`` converts these
kernels to the scale of Arora et al.'s code.
"""

from __future__ import annotations

import functools

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


def image_classifier(depth: int, width: int, n_outputs: int = 10, b_std: float = 0.1):
    """``(init_fn, apply_fn, kernel_fn)`` of a fully-connected ReLU classifier of images: the image
    flattened, ``depth`` hidden blocks Dense(width) -> ReLU with biases (W_std = sqrt(2)), a Dense
    readout with W_std = 1, all in the NTK parameterisation (the noisy-label quick scale)."""
    layers = [stax.Flatten()]
    for _ in range(depth):
        layers += [stax.Dense(width, W_std=RELU_W_STD, b_std=b_std), stax.Relu()]
    return stax.serial(*layers, stax.Dense(n_outputs, W_std=1.0, b_std=b_std))


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
    """Every (depth L, fixed bottom layers f) with 0 <= f <= L <= max_depth, in the order of Arora et
    al.'s (2020) grid search: L ascending, then f. L = 0 is the linear model (its NTK is x.x', up to
    scale); f = L trains only the readout (the NTK is then the last hidden layer's NNGP)."""
    return [(depth, fixed) for depth in range(max_depth + 1) for fixed in range(depth + 1)]


def reference_scale(input_dim: int, depth: int) -> float:
    """Factor taking the NTK of ``fully_connected(depth)`` to the kernel of Arora et al.'s (2020) code.

    Their recursion starts from x.x' (no 1/d) and each ReLU layer halves the diagonal (1/(2 pi)
    arc-cosine, no factor 2); ours starts from 2 x.x'/d and keeps the diagonal (W_std^2 = 2). Every
    term of the NTK sum (fixed layers or not) goes through the first layer and all ``depth`` ReLU
    layers, so the two differ by one constant: d / 2 at the input, times 1/2 per ReLU layer. The SVM's
    C acts on the kernel's scale, so this constant decides which C of the grid wins.
    """
    return input_dim / 2.0 ** (depth + 1)


@functools.lru_cache(maxsize=None)
def _ntk_chain_fn(max_depth: int, fixed: int):
    """A map from a row block of the input kernel to the stacked NTKs of depth
    fixed..max_depth with ``fixed`` layers fixed (one pass: each block is read out before the next)."""
    _, _, block = stax.serial(*_blocks(1))
    _, _, readout = stax.Dense(1, W_std=RELU_W_STD, b_std=None)
    _, _, inputs = stax.Identity()

    def chain(x1, x2, nngp, cov1, cov2):
        # The inputs' Kernel for rows x1 against x2, its covariances taken from the all-rows one.
        kernel = inputs(x1, x2, None).replace(nngp=nngp, cov1=cov1, cov2=cov2)
        for _ in range(fixed):
            kernel = block(kernel)
        # The first ``fixed`` Dense layers are not trained: their gradients leave the NTK.
        kernel = kernel.replace(ntk=jnp.zeros_like(kernel.nngp))
        grams = [readout(kernel).ntk]
        for _ in range(fixed, max_depth):
            kernel = block(kernel)
            grams.append(readout(kernel).ntk)
        return jnp.stack(grams)

    # Not jitted: XLA's fused code evaluates prod - nngp^2 with a fused multiply-add, which leaves the
    # rounding error of prod (~1e-16 relative) where the angle of a row with itself should be 0 and
    # puts ~1e-9 relative errors on the NTK's diagonal; op-by-op evaluation keeps it exactly 0.
    return chain


def fully_connected_ntk_chain(x: np.ndarray, max_depth: int, fixed: int, row_block: int = 512) -> np.ndarray:
    """NTKs of x with itself for depth = fixed..max_depth, ``fixed`` bottom layers not trained:
    shape (max_depth - fixed + 1, n, n), computed in row blocks.

    The input kernel is computed once for all rows and the rows' variances are taken from its
    diagonal, so every row's angle with itself is exactly 0: computed separately, the two can differ
    in the last bit, and the ReLU derivative (pi - angle) / (2 pi), ill-conditioned at angle 0,
    would then be off by ~1e-9 on the diagonal. x is zero-padded to a multiple of 128 rows and the
    layers run ``row_block`` rows at a time, so few array shapes serve every dataset and memory
    stays O(row_block x n) per layer (padded rows are dropped from the result).
    """
    if not 0 <= fixed <= max_depth:
        raise ValueError(f"fixed must be in 0..{max_depth}, got {fixed}")
    chain = _ntk_chain_fn(max_depth, fixed)
    n = x.shape[0]
    padded = -(-n // 128) * 128
    x = pad_rows(x, padded)
    _, _, inputs = stax.Identity()
    nngp = inputs(jnp.asarray(x), None, None).nngp
    # The variances are read off nngp's diagonal: stax's own cov1 is a separate reduction that can
    # differ from it in the last bit.
    variances = jnp.diagonal(nngp)
    row_block = min(row_block, padded)
    out = np.empty((max_depth - fixed + 1, n, n), dtype=np.asarray(x).dtype)
    for start in range(0, n, row_block):
        count = min(row_block, n - start)
        rows = slice(start, start + row_block)
        arrays = (pad_rows(x[rows], row_block), x, pad_rows(nngp[rows], row_block),
                  pad_rows(variances[rows], row_block), variances)
        block = chain(*map(jnp.asarray, arrays))
        out[:, start:start + count] = np.asarray(block)[:, :count, :n]
    return out


def fully_connected_ntk_table(x: np.ndarray, max_depth: int, row_block: int = 512) -> np.ndarray:
    """NTKs of x with itself for every pair of depth_fixed_pairs(max_depth), in that order:
    shape (pairs, n, n)."""
    chains = [fully_connected_ntk_chain(x, max_depth, fixed, row_block) for fixed in range(max_depth + 1)]
    return np.stack([chains[fixed][depth - fixed] for depth, fixed in depth_fixed_pairs(max_depth)])
