"""Numerical precision switch for JAX."""

import jax


def enable_float64() -> None:
    """Kernel linear algebra (eigendecompositions, solves, small differences) needs float64."""
    jax.config.update("jax_enable_x64", True)
