"""fig-phase-ntk-change (Seleznova & Kutyniok 2022, Theorem 7): how much one GD step moves the NTK.

ReLU networks of width M and depth L = round(lambda M) (``kernels.fully_connected.phase_network``,
W ~ N(0, sigma_w^2 / fan-in), biases zero at initialisation and trained when ``biases`` is set, as in
the paper's code), one per initialisation phase. For each network
Theta(x, x) = ||df(x)/dw||^2 at a fixed unit input x, then one GD step on the squared loss
1/2 (f(x) - y)^2 of that one sample, w' = w - eta (f(x) - y) df(x)/dw, and two changes:

* ``delta_first_order``: the change to first order in eta, eta * d/dt Theta(x, x)(w + t v) at t = 0
  with v = -(f(x) - y) df/dw (a Jacobian-vector product; the ReLU derivatives held fixed, as in the
  theorem's path-sum analysis);
* ``delta_step``: the exact change Theta'(x, x) - Theta(x, x) after the step, which also counts the
  ReLU units whose pre-activation changes sign during the step.

Learning rate: eta = c / Theta*(x, x) with Theta* the analytic NTK (stax ``kernel_fn``) of the
edge-of-chaos network of the same depth and width (L + 1 for a unit input without biases, 2 (L + 1)
with), so that at the edge of chaos one step moves f(x) by about c (y - f(x)) on average; the same eta
for every phase, so that the phases differ only in their initialisation.

Each initialisation w is paired with its mirror image (readout negated), which is equally
likely; the pair's mean change is recorded. This cancels exactly the part of Delta Theta that is odd
in the label y (mean zero, but the largest part of the variance) and leaves the expectation unchanged.
The same Gaussian draws serve every phase (common random numbers), scaled by sigma_w.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntk_study.io import save_csv
from ntk_study.kernels.fully_connected import phase_network
from ntk_study.kernels.precision import enable_float64

PHASES = ("ordered", "edge", "chaotic")
# Initialisations evaluated in one vmapped call: about this many parameters at once (memory bound).
PARAMETERS_PER_BATCH = 10_000_000


def depths(settings: dict[str, Any]) -> list[int]:
    """L = round(lambda M) for every depth-to-width ratio lambda of the settings."""
    return [max(1, int(round(ratio * settings["width"]))) for ratio in settings["depth_ratios"]]


def _squared_norm(tree: Any) -> jax.Array:
    return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))


def kernel_change(apply_fn: Callable, params: Any, x: jax.Array, y: float, learning_rate: float
                  ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One GD step on 1/2 (f(x) - y)^2 from ``params``: (f(x), Theta(x, x), first-order change of
    Theta(x, x), exact change of Theta(x, x)). ``x`` is one input of shape (1, d); f is scalar."""
    def output(p):
        return apply_fn(p, x)[0, 0]

    def theta(p):
        return _squared_norm(jax.grad(output)(p))

    f, gradient = jax.value_and_grad(output)(params)
    direction = jax.tree_util.tree_map(lambda g: -(f - y) * g, gradient)
    theta_0, slope = jax.jvp(theta, (params,), (direction,))
    stepped = jax.tree_util.tree_map(lambda w, v: w + learning_rate * v, params, direction)
    return f, theta_0, learning_rate * slope, theta(stepped) - theta_0


def mirror(params: list) -> list:
    """The network with its readout (weights and bias) negated: f -> -f, Theta(x, x) unchanged, and
    equally likely under the initialisation (the readout bias starts at zero)."""
    weights, bias = params[-1]
    return [*params[:-1], (-weights, None if bias is None else -bias)]


def _paired_changes(init_fn: Callable, apply_fn: Callable, x: jax.Array, y: float, learning_rate: float):
    """A jitted map: PRNG keys -> per initialisation (f, Theta, first-order and exact change, both
    averaged over the initialisation and its mirror)."""
    def one(key):
        params = init_fn(key, (-1, x.shape[1]))[1]
        pair = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), params, mirror(params))
        f, theta, first, step = jax.vmap(lambda p: kernel_change(apply_fn, p, x, y, learning_rate))(pair)
        return f[0], theta[0], jnp.mean(first), jnp.mean(step)

    return jax.jit(jax.vmap(one))


def run(settings: dict[str, Any], seed: int) -> pd.DataFrame:
    """One row per (phase, depth, initialisation)."""
    enable_float64()
    width, dim, count = settings["width"], settings["input_dim"], settings["initialisations"]
    root = jax.random.PRNGKey(seed)
    x = jax.random.normal(jax.random.fold_in(root, 0), (1, dim))
    x = x / jnp.linalg.norm(x)  # Theta(x, x) depends on x only through ||x|| (rotation invariance)
    rows = []
    for depth, ratio in zip(depths(settings), settings["depth_ratios"]):
        _, _, edge_kernel = phase_network(depth, width, 2.0, biases=settings["biases"])
        learning_rate = settings["step_size_multiple"] / float(edge_kernel(x, None, "ntk")[0, 0])
        keys = jax.random.split(jax.random.fold_in(root, depth), count)  # the same draws in every phase
        batch = max(1, min(count, PARAMETERS_PER_BATCH // (depth * width * (width + 1) + dim * width)))
        padded = jnp.concatenate([keys, keys[: (-count) % batch]])
        for phase in PHASES:
            sigma_w2 = settings["sigma_w2"][phase]
            init_fn, apply_fn, kernel_fn = phase_network(depth, width, sigma_w2, biases=settings["biases"])
            changes = _paired_changes(init_fn, apply_fn, x, settings["label"], learning_rate)
            parts = [changes(padded[i:i + batch]) for i in range(0, len(padded), batch)]
            f, theta, first, step = (np.concatenate([np.asarray(p[k]) for p in parts])[:count] for k in range(4))
            theta_analytic = float(kernel_fn(x, None, "ntk")[0, 0])
            rows += [{"phase": phase, "sigma_w2": sigma_w2, "width": width, "depth": depth, "depth_ratio": ratio,
                      "replicate": r, "learning_rate": learning_rate, "output": f[r], "theta": theta[r],
                      "theta_analytic": theta_analytic, "delta_first_order": first[r], "delta_step": step[r]}
                     for r in range(count)]
    return pd.DataFrame(rows)


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    save_csv(out_dir / "changes.csv", run(settings, seed))
