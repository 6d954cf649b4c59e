"""The CNTK recursion (written out for speed) against neural-tangents, and its 1-pixel limit."""

from __future__ import annotations

import numpy as np
import pytest

from ntk_study.kernels.convolutional import cntk_by_depth, convolutional
from ntk_study.kernels.fully_connected import fully_connected_ntk
from ntk_study.kernels.precision import enable_float64

enable_float64()


@pytest.mark.parametrize("readout", ["vanilla", "gap"])
def test_cntk_by_depth_equals_stax_kernel(readout):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(3, 5, 4, 2)), rng.normal(size=(4, 5, 4, 2))
    kernels = cntk_by_depth(x1, x2, [1, 3], batch=2)
    for depth in (1, 3):
        expected = np.asarray(convolutional(depth, readout)[2](x1, x2, "ntk"))
        np.testing.assert_allclose(kernels[readout, depth], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_one_pixel_cntk_is_the_fully_connected_ntk(depth):
    """On 1x1 images only the centre tap of each 3x3 filter sees data, so every convolution is a
    Dense layer with weight variance divided by the filter size 9: CNTK = 9^-depth x FC NTK."""
    x = np.random.default_rng(depth).normal(size=(6, 3))
    images = x.reshape(6, 1, 1, 3)
    fc = fully_connected_ntk(x, None, depth)
    for readout in ("vanilla", "gap"):
        np.testing.assert_allclose(cntk_by_depth(images, images, [depth])[readout, depth], fc / 9.0**depth,
                                   rtol=1e-7)  # arccos near 1 on the diagonal: ~1e-9 relative


def test_gap_differs_from_vanilla_on_real_images():
    x = np.random.default_rng(1).normal(size=(3, 4, 4, 3))
    kernels = cntk_by_depth(x, x, [2])
    assert not np.allclose(kernels["gap", 2], kernels["vanilla", 2])
