"""The fully-connected ReLU NTK of Arora et al. (2020) for tabular data, with the bottom layers fixed.

``fully_connected(depth)`` is the stax model: ``depth`` blocks Dense -> ReLU, then a Dense readout,
no biases, W_std = sqrt(2) (NTK parameterisation). Fixing the bottom ``fixed`` layers (not training
them) removes their gradients from the NTK: the recursion Theta^(h+1) = Sigma^(h+1) + Theta^(h) dSigma^(h+1)
then starts from Theta^(fixed) = 0. neural-tangents kernel functions accept a Kernel as input, so
the prefix's kernel is computed, its NTK part zeroed, and the rest of the network applied to it.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from neural_tangents import stax

RELU_W_STD = float(np.sqrt(2.0))


def _blocks(count: int) -> list:
    layers = []
    for _ in range(count):
        layers += [stax.Dense(512, W_std=RELU_W_STD, b_std=None), stax.Relu()]
    return layers


def fully_connected(depth: int):
    """``(init_fn, apply_fn, kernel_fn)`` of the depth-``depth`` ReLU network with a linear readout."""
    return stax.serial(*_blocks(depth), stax.Dense(1, W_std=RELU_W_STD, b_std=None))


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
