"""fig-ntk-structure (Seleznova & Kutyniok 2022, Fig. 4): class blocks of the NTK during training.

ReLU networks (``kernels.fully_connected.phase_network``, standard parameterisation,
W ~ N(0, sigma_w^2 / fan-in), biases zero at initialisation and trained when ``biases`` is set, as in
the paper's code) with one output per class, trained by full-batch Adam on the mean over images of
1/2 ||f(x) - onehot(label)||^2, as in the paper's code, for every sigma_w^2 of a sweep across the three
initialisation phases (ordered < 2, edge of chaos = 2, chaotic > 2). Inputs: MNIST images of the
configured classes, pixels scaled to [0, 1] and flattened (no centring, as in the paper).

One replicate (``seeds`` of them from ``first_replicate``, each ``jax.random.fold_in`` of the study
seed and a seeded NumPy draw) fixes the initial Gaussian draws, the training subset, the test subset
for the accuracy and the probe set (``probes_per_class`` training images of each class, grouped by
class). Within a replicate every sigma_w^2 starts from the same draws, scaled by sigma_w (in the
standard parameterisation the forward pass does not depend on sigma_w, so one compiled training
serves the whole sweep and every replicate). At step 0, at the ``early_records`` steps and every
``record_every`` steps the empirical NTK of the probe set (``probe_ntk``: the kernel of
``nt.empirical_ntk_fn`` on the trained ``apply_fn``, traced over the outputs, computed layer by
layer), the training loss and the test accuracy are recorded (the paper's code records steps 0, 1,
10, 20, 50, 100, 200, ...).

Writes ``curves.csv`` (replicate, sigma_w2, phase, step, train_loss, test_accuracy) and
``probe_ntk.npz`` (``kernels``: replicates x sigma values x recorded steps x probes x probes;
``steps``, ``sigma_w2``, ``replicates``, ``probe_labels``: replicates x probes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntk_study.data.prepare import load_prepared
from ntk_study.io import save_csv, save_npz
from ntk_study.kernels.fully_connected import phase_network

EDGE_OF_CHAOS = 2.0  # sigma_w^2 of the edge of chaos of a ReLU network (He initialisation)


def phase_of(sigma_w2: float) -> str:
    """The initialisation phase of a ReLU network with weight variance sigma_w^2 / fan-in."""
    if sigma_w2 < EDGE_OF_CHAOS:
        return "ordered"
    return "edge" if sigma_w2 == EDGE_OF_CHAOS else "chaotic"


def record_steps(settings: dict[str, Any]) -> np.ndarray:
    """Step 0, the ``early_records`` steps and every ``record_every`` steps up to ``steps``."""
    steps, every = settings["steps"], settings["record_every"]
    if every < 1 or steps % every:
        raise ValueError(f"record_every ({every}) must divide steps ({steps})")
    early = settings.get("early_records", [])
    if any(not 0 < step <= steps for step in early):
        raise ValueError(f"early_records {early} must lie in 1..steps ({steps})")
    return np.array(sorted({0, *early, *range(every, steps + 1, every)}), dtype=np.int64)


def _pick(rng: np.random.Generator, candidates: np.ndarray, n: int | None) -> np.ndarray:
    if n is None or n >= len(candidates):
        return candidates
    return np.sort(rng.choice(candidates, size=n, replace=False))


def class_subset(prepared_file: str | Path, classes: list[int], n_train: int | None, n_test: int | None,
                 probes_per_class: int, seed: int | list[int]) -> dict[str, np.ndarray]:
    """Images of ``classes`` as float32 rows in [0, 1] with labels 0..len(classes)-1 (position in
    ``classes``): a seeded subset of ``n_train`` training and ``n_test`` test images (None: all), and
    the probe set, ``probes_per_class`` of the chosen training images per class, grouped by class."""
    data = load_prepared(prepared_file)
    rng = np.random.default_rng(seed)
    position = np.full(256, -1)
    position[np.asarray(classes)] = np.arange(len(classes))
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = position[data[f"y_{split}"]]
        chosen = _pick(rng, np.flatnonzero(labels >= 0), n)
        out[f"x_{split}"] = (data[f"x_{split}"][chosen].reshape(len(chosen), -1) / 255.0).astype(np.float32)
        out[f"y_{split}"] = labels[chosen].astype(np.int32)
    probes = []
    for label in range(len(classes)):
        members = np.flatnonzero(out["y_train"] == label)
        if len(members) < probes_per_class:
            raise ValueError(f"class {classes[label]} has {len(members)} training images, fewer than "
                             f"probes_per_class = {probes_per_class}")
        probes.append(rng.permutation(members)[:probes_per_class])
    probes = np.concatenate(probes)
    out["x_probe"], out["y_probe"] = out["x_train"][probes], out["y_train"][probes]
    return out


def _dense_layers(params: Any) -> list[tuple[jax.Array, jax.Array | None]]:
    """(W, b) of every Dense layer of ``phase_network``'s parameters, input to output (b None without
    biases); the repeated hidden layers are stacked along a leading axis."""
    (first, _), (repeated, _), last = params
    weights, biases = repeated
    middle = [(weights[i], None if biases is None else biases[i]) for i in range(weights.shape[0])]
    return [first, *middle, last]


def probe_ntk(params: Any, x: jax.Array) -> jax.Array:
    """The empirical NTK of ``phase_network`` at ``params`` on the rows of ``x``, traced over the
    outputs as neural-tangents does (the mean over outputs k; the block ratios do not depend on the
    scale) of the sum over parameters w of df_k(x)/dw df_k(x')/dw, layer by layer. For a
    Dense layer z = h W + b with pre-activation gradient g_k = df_k/dz, the weights contribute
    <h(x), h(x')> <g_k(x), g_k(x')> and the bias <g_k(x), g_k(x')>. The same kernel as
    ``nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,))`` (tested), without forming the Jacobian
    (probes x outputs x parameters), which made each record cost as much as dozens of Adam steps."""
    layers = _dense_layers(params)

    def forward(shifts):  # shifts: one zero (n, width) added to each hidden pre-activation
        h, inputs = x, []
        for (weight, bias), shift in zip(layers[:-1], shifts):
            inputs.append(h)
            h = jax.nn.relu(h @ weight + (0.0 if bias is None else bias) + shift)
        inputs.append(h)
        weight, bias = layers[-1]
        return h @ weight + (0.0 if bias is None else bias), inputs

    shifts = [jnp.zeros((x.shape[0], weight.shape[1]), x.dtype) for weight, _ in layers[:-1]]
    out, pullback, inputs = jax.vjp(forward, shifts, has_aux=True)
    n_outputs = out.shape[1]
    basis = jnp.broadcast_to(jnp.eye(n_outputs, dtype=out.dtype)[:, None, :], (n_outputs, *out.shape))
    gradients = jax.vmap(pullback)(basis)[0]  # per hidden layer: (outputs, n, width)
    # Mean over outputs of <g_k(x), g_k(x')>; the readout's g_k is the k-th unit vector (mean 1).
    gradients = [jnp.einsum("kiu,kju->ij", g, g) / n_outputs for g in gradients] + [1.0]
    kernel = jnp.zeros((x.shape[0], x.shape[0]), out.dtype)
    for (_, bias), h, g in zip(layers, inputs, gradients):
        kernel = kernel + g * (h @ h.T + (0.0 if bias is None else 1.0))
    return kernel


def trainer(settings: dict[str, Any]):
    """``(init, run)`` for the configured network: ``init(key, sigma_w2, input_dim)`` draws the initial
    parameters (the same Gaussian draws for every sigma_w^2 of one key, scaled by sigma_w), and
    ``run(params, x, targets, x_probe, x_test, y_test)`` trains one network by full-batch Adam and
    returns the probe NTK, training loss and test accuracy at every step of ``record_steps(settings)``
    (arrays with a leading axis over the records). ``run`` is compiled once for all sigma_w^2 and
    replicates: in the standard parameterisation sigma_w enters the initial draws only, not the
    forward pass."""
    from jax.example_libraries import optimizers

    n_classes = len(settings["classes"])

    def network(sigma_w2: float):
        return phase_network(settings["depth"], settings["width"], sigma_w2, n_outputs=n_classes,
                             biases=settings["biases"])

    apply_fn = network(EDGE_OF_CHAOS)[1]
    marks = record_steps(settings)
    opt_init, opt_update, get_params = optimizers.adam(settings["learning_rate"])

    def init(key: jax.Array, sigma_w2: float, input_dim: int) -> Any:
        return network(sigma_w2)[0](key, (-1, input_dim))[1]

    # The data are arguments, not constants baked into the compiled program.
    @jax.jit
    def run(params, x, targets, x_probe, x_test, y_test):
        def loss(p):
            return 0.5 * jnp.mean(jnp.sum((apply_fn(p, x) - targets) ** 2, axis=1))

        def record(state):
            p = get_params(state)
            accuracy = jnp.mean(jnp.argmax(apply_fn(p, x_test), axis=1) == y_test)
            return {"ntk": probe_ntk(p, x_probe), "train_loss": loss(p), "test_accuracy": accuracy}

        state = opt_init(params)
        buffers = jax.tree_util.tree_map(lambda v: jnp.zeros((len(marks), *v.shape), v.dtype).at[0].set(v),
                                         record(state))
        due = jnp.asarray(marks[1:].tolist() + [-1])  # the step after which record ``slot`` is taken

        def step(carry, i):
            state, buffers, slot = carry
            state = opt_update(i, jax.grad(loss)(get_params(state)), state)
            hit = due[slot - 1] == i + 1

            def write(buffers):
                return jax.tree_util.tree_map(lambda buffer, value: buffer.at[slot].set(value), buffers,
                                              record(state))

            buffers = jax.lax.cond(hit, write, lambda buffers: buffers, buffers)
            return (state, buffers, slot + hit.astype(slot.dtype)), None

        carry = (state, buffers, jnp.asarray(1, jnp.int32))
        return jax.lax.scan(step, carry, jnp.arange(settings["steps"]))[0][1]

    return init, run


def train(settings: dict[str, Any], data: dict[str, np.ndarray], key: jax.Array, runner=None) -> dict[str, np.ndarray]:
    """Records (sigma values x recorded steps x ...) of the networks of every sigma_w^2 in
    ``settings["sigma_w2"]``, all from the Gaussian draws of ``key``, trained on ``data``."""
    init, run = runner or trainer(settings)
    targets = jax.nn.one_hot(data["y_train"], len(settings["classes"]), dtype=jnp.float32)
    records = []
    for sigma_w2 in settings["sigma_w2"]:
        params = init(key, float(sigma_w2), data["x_train"].shape[1])
        records.append(run(params, data["x_train"], targets, data["x_probe"], data["x_test"], data["y_test"]))
    return {name: np.stack([np.asarray(r[name]) for r in records]) for name in records[0]}


def replicates(settings: dict[str, Any]) -> range:
    first = settings.get("first_replicate", 0)
    return range(first, first + settings["seeds"])


def compute(settings: dict[str, Any], seed: int, out_dir: Path, prepared: dict[str, Path]) -> None:
    sigma_w2 = [float(s) for s in settings["sigma_w2"]]
    if {phase_of(s) for s in sigma_w2} != {"ordered", "edge", "chaotic"}:
        raise ValueError(f"sigma_w2 {sigma_w2} must cover the ordered phase, the edge of chaos and the chaotic phase")
    steps = record_steps(settings)
    root, runner = jax.random.PRNGKey(seed), trainer(settings)
    rows, kernels, labels = [], [], []
    for replicate in replicates(settings):
        data = class_subset(prepared[settings["dataset"]], settings["classes"], settings["n_train"],
                            settings["n_test"], settings["probes_per_class"], [seed, replicate])
        records = train(settings, data, jax.random.fold_in(root, replicate), runner)
        kernels.append(records["ntk"])
        labels.append(data["y_probe"])
        for index, s in enumerate(sigma_w2):
            rows += [{"replicate": replicate, "sigma_w2": s, "phase": phase_of(s), "step": int(step),
                      "train_loss": float(loss), "test_accuracy": float(accuracy)}
                     for step, loss, accuracy in zip(steps, records["train_loss"][index],
                                                     records["test_accuracy"][index])]
    save_npz(out_dir / "probe_ntk.npz", {"kernels": np.stack(kernels), "steps": steps, "sigma_w2": np.asarray(sigma_w2),
                                         "replicates": np.asarray(replicates(settings)),
                                         "probe_labels": np.stack(labels)})
    save_csv(out_dir / "curves.csv", pd.DataFrame(rows))
