"""Reproducible study of the Neural Tangent Kernel (NTK).

Sub-packages: ``data`` (download, verify, parse, prepare), ``kernels`` (stax models and
their kernels), ``experiments`` (one module per figure), ``plots``, ``claims``, ``report``.
"""

__version__ = "0.1.0"
