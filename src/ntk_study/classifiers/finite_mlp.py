"""Finite fully-connected ReLU networks on tabular data: the "NN (He init)" and "NN (NTK init)" baselines.

Both use ``kernels.fully_connected`` (the architecture of the NTK column), in the standard
parameterization (He initialisation) or the NTK parameterization, trained full batch with Adam on
softmax cross-entropy. To compile once per shape bucket rather than per dataset, inputs are zero-padded (rows to
a power of two, features to 16 x 4^k, classes to 8^k) with masks,
and the padding is made exact: zero feature columns add nothing to a pre-activation, and the
first layer is rescaled by sqrt(padded d / d) -- its initial weights in the standard
parameterization, its inputs in the NTK parameterization (where the layer divides by
sqrt(fan-in)) -- so the padded network computes and trains as the unpadded one.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ntk_study.classifiers.protocol import FitScore
from ntk_study.kernels.fully_connected import fully_connected
from ntk_study.training import adam_full_batch

PARAMETERIZATIONS = {"he": "standard", "ntk": "ntk"}
MIN_PADDED_ROWS = 32


@functools.lru_cache(maxsize=None)
def _programs(depth: int, width: int, n_outputs: int, parameterization: str, steps: int):
    init_fn, apply_fn, _ = fully_connected(depth, width, n_outputs, parameterization)

    def logits(params, x, class_mask):
        return jnp.where(class_mask, apply_fn(params, x), -1e9)

    @jax.jit
    def train(key, x, labels, row_mask, class_mask, first_layer_scale, input_scale, learning_rate):
        _, params = init_fn(key, x.shape)
        (w_first, *rest), *layers = params
        params = [(w_first * first_layer_scale, *rest), *layers]
        x = x * input_scale
        one_hot = jax.nn.one_hot(labels, n_outputs)

        def loss(p):
            log_p = jax.nn.log_softmax(logits(p, x, class_mask))
            return -jnp.sum(row_mask * jnp.sum(one_hot * log_p, axis=1)) / jnp.sum(row_mask)

        return adam_full_batch(loss, params, learning_rate, steps)

    @jax.jit
    def predict(params, x, class_mask, input_scale):
        return jnp.argmax(logits(params, x * input_scale, class_mask), axis=1)

    return train, predict


def _bucket(n: int, minimum: int, base: int = 2) -> int:
    """The smallest minimum * base^k >= n (coarse buckets: fewer compilations, more padding)."""
    size = minimum
    while size < n:
        size *= base
    return size


def _pad(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=np.float32)
    out[:x.shape[0], :x.shape[1]] = x
    return out


def mlp_classifier(x: np.ndarray, y: np.ndarray, n_classes: int, init: str, *, width: int, steps: int,
                   seed: int, name: str) -> FitScore:
    """FitScore over candidates {"depth", "learning_rate"} for one dataset; ``init`` is "he" or "ntk"."""
    parameterization = PARAMETERIZATIONS[init]
    d = x.shape[1]
    padded_features, padded_classes = _bucket(d, 16, base=4), _bucket(n_classes, 8, base=8)
    scale = float(np.sqrt(padded_features / d))
    first_layer_scale, input_scale = (scale, 1.0) if parameterization == "standard" else (1.0, scale)
    class_mask = jnp.arange(padded_classes) < n_classes
    # One initialisation per dataset, the same for every candidate and split.
    key = jax.random.fold_in(jax.random.PRNGKey(seed), zlib.crc32(name.encode()))

    def fit_score(candidate: dict[str, Any], train: np.ndarray, test: np.ndarray) -> float:
        train_fn, predict_fn = _programs(candidate["depth"], width, padded_classes, parameterization, steps)
        rows = _bucket(len(train), MIN_PADDED_ROWS)
        labels = np.zeros(rows, dtype=np.int32)
        labels[:len(train)] = y[train]
        row_mask = (np.arange(rows) < len(train)).astype(np.float32)
        params = train_fn(key, _pad(x[train], rows, padded_features), labels, row_mask, class_mask,
                          first_layer_scale, input_scale, candidate["learning_rate"])
        test_rows = _bucket(len(test), MIN_PADDED_ROWS)
        predicted = np.asarray(predict_fn(params, _pad(x[test], test_rows, padded_features), class_mask,
                                          input_scale))[:len(test)]
        return float(np.mean(predicted == y[test]))

    return fit_score
