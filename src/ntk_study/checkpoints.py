"""When a training run saves its parameters (no JAX here: the config check uses it too)."""

from __future__ import annotations


def checkpoint_steps(steps_per_epoch: int, epochs: int, dense_epochs: int, dense_per_epoch: int) -> list[int]:
    """Steps at which to save the parameters: ``dense_per_epoch`` evenly spaced checkpoints in each
    of the first ``dense_epochs`` epochs, then one per epoch; step 0 (initialisation) included."""
    if dense_per_epoch < 1 or steps_per_epoch % dense_per_epoch:
        raise ValueError(f"dense_per_epoch ({dense_per_epoch}) must divide the steps per epoch ({steps_per_epoch})")
    spacing = steps_per_epoch // dense_per_epoch
    dense = range(0, min(dense_epochs, epochs) * steps_per_epoch, spacing)
    per_epoch = (epoch * steps_per_epoch for epoch in range(1, epochs + 1))
    return sorted(set(dense) | set(per_epoch))


def checkpoint_epochs(steps_per_epoch: int, epochs: int, dense_epochs: int, dense_per_epoch: int) -> list[float]:
    """The checkpoints of ``checkpoint_steps`` in epochs."""
    return [step / steps_per_epoch for step in checkpoint_steps(steps_per_epoch, epochs, dense_epochs, dense_per_epoch)]
