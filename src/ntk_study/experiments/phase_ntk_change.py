"""fig-phase-ntk-change (Seleznova & Kutyniok 2022, Theorem 7): how much one GD step moves the NTK.

ReLU networks of width M and depth L (``kernels.fully_connected.phase_network``, W ~ N(0,
sigma_w^2 / fan-in), biases zero at initialisation and trained when ``biases`` is set, as in the
paper's code), one per initialisation phase, on two sweeps:

* the **depth sweep**: one width M, L = round(lambda M) for every depth-to-width ratio lambda;
* the **width sweep**: one ratio lambda, widths M (L = round(lambda M)): the theorem's limit is
  M, L -> infinity at fixed lambda, so only this sweep moves along it.

For each network Theta(x, x) = ||df(x)/dw||^2 at a fixed unit input x, then one GD step on the
squared loss 1/2 (f(x) - y)^2 of that one sample, w' = w - eta (f(x) - y) df(x)/dw, and two changes:

* ``delta_first_order``: the change to first order in eta, eta * d/dt Theta(x, x)(w + t v) at t = 0
  with v = -(f(x) - y) df/dw (a Jacobian-vector product; the ReLU derivatives held fixed, as in the
  theorem's path-sum analysis);
* ``delta_step``: the exact change Theta'(x, x) - Theta(x, x) after the step, which also counts the
  ReLU units whose pre-activation changes sign during the step.

**A phase-fair step.** Each phase's network gets its own step size and label:
eta = c / Theta*_phase(x, x) and y = label * sqrt(K*_phase(x, x)), with Theta* and K* the analytic
NTK and NNGP (stax ``kernel_fn``) of that phase's network at that depth and width. One step then
moves f(x) by about c (y - f(x)) in every phase (the function-space step is eta Theta), and the
label is measured in units of the network's own output scale. Why this matters: without biases a
ReLU network is positively homogeneous, and the phases' weights are one set of draws scaled by
a = (sigma_w^2 / 2)^(1/2) per layer (common random numbers below), so f scales by a^(L+1), Theta by
a^(2L) and, at a common eta, E[dTheta]/E[Theta] by a^(2L) = (sigma_w^2 / 2)^L exactly: a common eta
decides "grows" and "vanishes" by that factor alone (at L = 50 it is ~117 for sigma_w^2 = 2.2 and
~1e-15 for 1.0). With the phase-fair eta and y the factor cancels exactly, in the first-order and in
the exact change (``tests/test_chapter5_phases.py`` checks that R of a bias-free network does not
move when its weights are rescaled), so what differs between the phases is what homogeneity does
not fix: the zero-initialised, trained biases (their gradients scale as a^(L+1-l) by layer l, not
as a^L) and the finite-width fluctuations the theorem's limit is about. For the first-order change
the label does not matter at all after the mirror pairing below (its term is odd in y).

Each initialisation w is paired with its mirror image (readout negated), which is equally likely;
the pair's mean change is recorded. This cancels exactly the part of dTheta that is odd in the label
y (mean zero, but the largest part of the variance) and leaves the expectation unchanged. The mirror
needs no second network: its output is -f, its Theta the same, its first-order change
-eta (f + y) D against the network's -eta (f - y) D (D = <grad Theta, grad f>), and its step is the
network's step for the label -y, mirrored, which leaves Theta unchanged (tested).
The same Gaussian draws serve every phase (common random numbers): a network of each phase is the
edge-of-chaos draw (``edge_params``) with every weight scaled by (sigma_w^2 / 2)^(1/2), which is a
draw of that phase's initialisation (the biases start at zero); one compiled function evaluates the
three phases on each draw. Draws differ between (width, depth) points, so the points a claim
compares are independent; ``draw_set`` picks a set of draws never used before.

Precision: ``float64`` (default) or float32 networks (``float64: false``, about 1.75x faster on CPU).
In float32 the exact change resolves ~1e-6 of Theta and the first-order change, a product computed
directly, is accurate to float32's relative precision; the run stops if f(x) or a first-order change
comes near float32 underflow (the ordered phase's deep networks, ``check_range``).
"""

from __future__ import annotations

import math
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
EDGE_SIGMA_W2 = 2.0
SWEEPS = ("depth", "width")
# Initialisations evaluated in one vmapped call: about this many parameters at once (memory bound).
PARAMETERS_PER_BATCH = 10_000_000
# Smallest |f(x)| or |first-order change| accepted in float32 (its smallest normal number is 1.2e-38;
# the products inside the Jacobian-vector product lie several orders below the result).
FLOAT32_FLOOR = 1e-25


def points(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The (sweep, width M, depth L, ratio lambda, initialisations) points of both sweeps, L = round(lambda M)."""
    def depth(ratio: float, width: int) -> int:
        return max(1, int(round(ratio * width)))

    ratios, counts = settings["depth_ratios"], settings["initialisations"]
    counts = [counts] * len(ratios) if isinstance(counts, int) else counts
    if len(counts) != len(ratios):
        raise ValueError("initialisations: one count, or one per depth ratio")
    grid = [{"sweep": "depth", "width": settings["width"], "depth": depth(ratio, settings["width"]),
             "depth_ratio": ratio, "initialisations": count} for ratio, count in zip(ratios, counts)]
    sweep = settings["width_sweep"]
    if len(sweep["initialisations"]) != len(sweep["widths"]):
        raise ValueError("width_sweep: one initialisation count per width")
    grid += [{"sweep": "width", "width": width, "depth": depth(sweep["depth_ratio"], width),
              "depth_ratio": sweep["depth_ratio"], "initialisations": count}
             for width, count in zip(sweep["widths"], sweep["initialisations"])]
    return grid


def depths(settings: dict[str, Any]) -> list[int]:
    """L = round(lambda M) for every depth-to-width ratio lambda of the depth sweep."""
    return [point["depth"] for point in points(settings) if point["sweep"] == "depth"]


def phase_step(kernel_fn: Callable, x: jax.Array, multiple: float, label: float
               ) -> tuple[float, float, float, float]:
    """(eta, y, Theta*, K*) of the phase-fair step: eta = multiple / Theta*(x, x) and y = label *
    sqrt(K*(x, x)), from the analytic NTK Theta* and NNGP K* of the network's own ``kernel_fn``.
    K*(x, x) = E[f(x)^2] exactly at any width for these networks (tested); it is recorded beside the
    draws (``nngp_analytic``) as a check of them."""
    kernels = kernel_fn(x, None, ("nngp", "ntk"))
    nngp, ntk = float(kernels.nngp[0, 0]), float(kernels.ntk[0, 0])
    return multiple / ntk, label * math.sqrt(nngp), ntk, nngp


def _squared_norm(tree: Any) -> jax.Array:
    return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))


def _theta_fn(apply_fn: Callable, x: jax.Array) -> tuple[Callable, Callable]:
    def output(p):
        return apply_fn(p, x)[0, 0]

    def theta(p):
        return _squared_norm(jax.grad(output)(p))

    return output, theta


def kernel_change(apply_fn: Callable, params: Any, x: jax.Array, y: float, learning_rate: float
                  ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One GD step on 1/2 (f(x) - y)^2 from ``params``: (f(x), Theta(x, x), first-order change of
    Theta(x, x), exact change of Theta(x, x)). ``x`` is one input of shape (1, d); f is scalar."""
    output, theta = _theta_fn(apply_fn, x)
    f, gradient = jax.value_and_grad(output)(params)
    direction = jax.tree_util.tree_map(lambda g: -(f - y) * g, gradient)
    theta_0, slope = jax.jvp(theta, (params,), (direction,))
    stepped = jax.tree_util.tree_map(lambda w, v: w + learning_rate * v, params, direction)
    return f, theta_0, learning_rate * slope, theta(stepped) - theta_0


def paired_change(apply_fn: Callable, params: Any, x: jax.Array, y: float, learning_rate: float
                  ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``kernel_change`` averaged over ``params`` and ``mirror(params)``: (f, Theta, mean first-order
    change, mean exact change). The mirror's first-order change is -eta (f + y) D against the
    network's -eta (f - y) D, so the mean is -eta f D; its exact change is the network's for the
    label -y (Theta is unchanged by mirroring)."""
    output, theta = _theta_fn(apply_fn, x)
    f, gradient = jax.value_and_grad(output)(params)
    theta_0, along_gradient = jax.jvp(theta, (params,), (gradient,))

    def stepped_theta(label):
        return theta(jax.tree_util.tree_map(lambda w, g: w - learning_rate * (f - label) * g, params, gradient))

    exact = 0.5 * (stepped_theta(y) + stepped_theta(-y)) - theta_0
    return f, theta_0, -learning_rate * f * along_gradient, exact


def mirror(params: list) -> list:
    """The network with its readout (weights and bias) negated: f -> -f, Theta(x, x) unchanged, and
    equally likely under the initialisation (the readout bias starts at zero)."""
    weights, bias = params[-1]
    return [*params[:-1], (-weights, None if bias is None else -bias)]


def scaled(params: Any, scale: float | jax.Array) -> Any:
    """Every parameter times ``scale``: for a draw at initialisation (biases zero) this is the same
    draw at sigma_w^2 = scale^2 * 2 when ``params`` were drawn at the edge of chaos."""
    return jax.tree_util.tree_map(lambda p: scale * p, params)


def edge_params(key: jax.Array, dim: int, width: int, depth: int, biases: bool) -> list:
    """A draw of ``phase_network(depth, width, 2.0, biases)``'s parameters at initialisation, in its
    parameter tree (first layer, the stacked ``stax.repeat`` layers, readout): W ~ N(0, 2 / fan-in),
    biases zero. Drawn here because stax's ``init_fn`` of a deep network takes several times longer to
    compile than the whole step below (tested: same tree, and the mean Theta is the analytic NTK). The
    standard normals are drawn in float32 (the generator's float64 draws cost more than the whole
    step) and then used at the working precision (float64 under ``enable_float64``)."""
    first, repeated, readout = jax.random.split(key, 3)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)

    def normal(k, shape, fan_in):
        return jax.random.normal(k, shape, jnp.float32).astype(dtype) * jnp.sqrt(jnp.asarray(EDGE_SIGMA_W2 / fan_in,
                                                                                              dtype))

    def bias(*shape):
        return jnp.zeros(shape, dtype) if biases else None

    return [[(normal(first, (dim, width), dim), bias(1, width)), ()],
            [(normal(repeated, (depth - 1, width, width), width), bias(depth - 1, 1, width)), ()],
            (normal(readout, (width, 1), width), bias(1, 1))]


def _paired_changes(apply_fn: Callable, x: jax.Array, width: int, depth: int, biases: bool) -> Callable:
    """A jitted map: (PRNG keys, per phase: weight scale, eta, y) -> per initialisation and phase (f,
    Theta, first-order and exact change, both averaged over the initialisation and its mirror), arrays
    of shape (keys, phases). Each draw serves every phase, and the phase enters only as numbers, so one
    compilation serves the three phases."""
    def one(key, scales, learning_rates, targets):
        params = edge_params(key, x.shape[1], width, depth, biases)
        return jax.vmap(lambda scale, learning_rate, y: paired_change(apply_fn, scaled(params, scale), x, y,
                                                                      learning_rate))(scales, learning_rates, targets)

    return jax.jit(jax.vmap(one, in_axes=(0, None, None, None)))


def draws_root(seed: int, draw_set: int) -> jax.Array:
    """The PRNG key of the figure's draws: the study seed and the config's ``draw_set``."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), draw_set)


def _measure(settings: dict[str, Any], root: jax.Array, x: jax.Array, width: int, depth: int, count: int
             ) -> dict[str, dict[str, Any]]:
    """Per phase: the phase-fair step (eta, y, Theta*) and per initialisation (f, Theta, first-order
    and exact change) at one (width, depth), ``count`` initialisations."""
    # Independent draws at every (width, depth); the same draws in every phase.
    keys = jax.random.split(jax.random.fold_in(jax.random.fold_in(root, 1 + width), depth), count)
    dim = x.shape[1]
    per_draw = len(PHASES) * (depth * width * (width + 1) + dim * width)
    batch = max(1, min(count, PARAMETERS_PER_BATCH // per_draw))
    padded = jnp.concatenate([keys, keys[: (-count) % batch]])
    _, apply_fn, _ = phase_network(depth, width, EDGE_SIGMA_W2, biases=settings["biases"])
    changes = _paired_changes(apply_fn, x, width, depth, settings["biases"])
    steps = {}
    for phase in PHASES:
        sigma_w2 = settings["sigma_w2"][phase]
        _, _, kernel_fn = phase_network(depth, width, sigma_w2, biases=settings["biases"])
        steps[phase] = (sigma_w2, *phase_step(kernel_fn, x, settings["step_size_multiple"], settings["label"]))
    scales, learning_rates, targets = (jnp.array([v[i] for v in steps.values()]) for i in range(3))
    scales = jnp.sqrt(scales / EDGE_SIGMA_W2)
    parts = [changes(padded[i:i + batch], scales, learning_rates, targets) for i in range(0, len(padded), batch)]
    values = [np.concatenate([np.asarray(p[k], dtype=float) for p in parts])[:count] for k in range(4)]
    names = ("output", "theta", "delta_first_order", "delta_step")
    return {phase: {"sigma_w2": sigma_w2, "learning_rate": learning_rate, "target": target,
                    "theta_analytic": theta_analytic, "nngp_analytic": nngp_analytic,
                    **{name: value[:, j] for name, value in zip(names, values)}}
            for j, (phase, (sigma_w2, learning_rate, target, theta_analytic, nngp_analytic))
            in enumerate(steps.items())}


def check_range(frame: pd.DataFrame, float64: bool) -> None:
    """In float32 the ordered phase's deep networks come near underflow (the first-order change
    scales as (sigma_w^2 / 2)^L and its intermediate products lower still): stop rather than
    report a change that underflowed to zero. Exact zeros are allowed where f(x) is zero too (a narrow
    network whose ReLUs are all off in some layer is constant)."""
    if float64:
        return
    output, first = np.abs(frame["output"].to_numpy()), np.abs(frame["delta_first_order"].to_numpy())
    tiny = ((output > 0) & (output < FLOAT32_FLOOR)) | ((first > 0) & (first < FLOAT32_FLOOR))
    if np.any(tiny | ((first == 0) & (output > 0))):
        raise ValueError("fig-phase-ntk-change: f(x) or its first-order change is near float32 underflow; "
                         "set float64: true for these depths")


def run(settings: dict[str, Any], seed: int) -> pd.DataFrame:
    """One row per (sweep, width, depth, phase, initialisation). A (width, depth) on both sweeps is
    computed once (its draws depend only on width and depth); a point with fewer initialisations than
    another at the same (width, depth) takes the first of them."""
    float64 = settings.get("float64", True)
    if float64:
        enable_float64()
    root = draws_root(seed, settings.get("draw_set", 0))
    x = jax.random.normal(jax.random.fold_in(root, 0), (1, settings["input_dim"]))
    x = x / jnp.linalg.norm(x)  # Theta(x, x) depends on x only through ||x|| (rotation invariance)
    grid = points(settings)
    counts: dict[tuple[int, int], int] = {}
    for point in grid:
        shape = (point["width"], point["depth"])
        counts[shape] = max(counts.get(shape, 0), point["initialisations"])
    measured = {shape: _measure(settings, root, x, *shape, count) for shape, count in counts.items()}
    rows = []
    for point in grid:
        for phase, values in measured[(point["width"], point["depth"])].items():
            rows += [{"sweep": point["sweep"], "phase": phase, "sigma_w2": values["sigma_w2"], "width": point["width"],
                      "depth": point["depth"], "depth_ratio": point["depth_ratio"], "replicate": r,
                      "learning_rate": values["learning_rate"], "target": values["target"],
                      "output": values["output"][r], "theta": values["theta"][r],
                      "theta_analytic": values["theta_analytic"], "nngp_analytic": values["nngp_analytic"],
                      "delta_first_order": values["delta_first_order"][r], "delta_step": values["delta_step"][r]}
                     for r in range(point["initialisations"])]
    frame = pd.DataFrame(rows)
    check_range(frame, float64)
    return frame


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    save_csv(out_dir / "changes.csv", run(settings, seed))
