"""Residual networks of basic blocks in stax (He et al. 2016), without batch normalisation.

A 3x3 convolution stem, then stages of basic blocks (two 3x3 convolutions and a shortcut; the
first block of every stage after the first halves the resolution with stride 2 and projects
the shortcut with a 1x1 convolution), global average pooling and a dense readout.
``stage_blocks=(3, 4, 6, 3)``, ``stage_channels=(64, 128, 256, 512)`` is ResNet-34: He et al.'s
ImageNet layout, with the 7x7 stride-2 stem and its max pooling replaced by one 3x3 convolution
for 32x32 images, as common CIFAR-10 implementations of ResNet-34 do (He et al.'s own CIFAR
networks are the 6n + 2 family with 16/32/64 channels, e.g. ResNet-20: ``(3, 3, 3)``,
``(16, 32, 64)``).

stax has no batch normalisation (it has no infinite-width limit of the usual kind), so the
residual branch's last convolution starts with a small weight scale (``branch_scale``): each
block then begins close to the identity and a deep stack keeps its activations' scale, which
batch normalisation provides in the published networks. One definition gives the finite network
(``init_fn``, ``apply_fn``) and its infinite-width kernel (``kernel_fn``).
"""

from __future__ import annotations

from neural_tangents import stax

from ntk_study.kernels.fully_connected import RELU_W_STD


def _conv(channels: int, size: int, stride: int, w_std: float, parameterization: str):
    return stax.Conv(channels, (size, size), strides=(stride, stride), padding="SAME", W_std=w_std,
                     b_std=None, parameterization=parameterization)


def basic_block(channels: int, stride: int, project: bool, branch_scale: float, parameterization: str):
    """ReLU(branch(x) + shortcut(x)), branch = Conv 3x3 (stride) -> ReLU -> Conv 3x3."""
    branch = stax.serial(
        _conv(channels, 3, stride, RELU_W_STD, parameterization), stax.Relu(),
        _conv(channels, 3, 1, RELU_W_STD * branch_scale, parameterization),
    )
    shortcut = _conv(channels, 1, stride, 1.0, parameterization) if project else stax.Identity()
    return stax.serial(stax.FanOut(2), stax.parallel(branch, shortcut), stax.FanInSum(), stax.Relu())


def resnet(stage_blocks: tuple[int, ...] | list[int], stage_channels: tuple[int, ...] | list[int],
           n_outputs: int = 10, branch_scale: float = 0.1, parameterization: str = "standard"):
    """``(init_fn, apply_fn, kernel_fn)`` of a CIFAR ResNet with the given blocks and channels per stage."""
    if len(stage_blocks) != len(stage_channels) or not stage_blocks:
        raise ValueError("stage_blocks and stage_channels need the same, non-zero length")
    layers = [_conv(stage_channels[0], 3, 1, RELU_W_STD, parameterization), stax.Relu()]
    previous = stage_channels[0]
    for stage, (blocks, channels) in enumerate(zip(stage_blocks, stage_channels)):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            project = stride != 1 or channels != previous
            layers.append(basic_block(channels, stride, project, branch_scale, parameterization))
            previous = channels
    layers += [stax.GlobalAvgPool(), stax.Dense(n_outputs, W_std=1.0, b_std=None, parameterization=parameterization)]
    return stax.serial(*layers)


def resnet_from_spec(spec: dict, n_outputs: int = 10, parameterization: str = "standard"):
    """``resnet`` from a config's ``network`` section (stage_blocks, stage_channels, branch_scale)."""
    return resnet(spec["stage_blocks"], spec["stage_channels"], n_outputs, spec["branch_scale"], parameterization)
