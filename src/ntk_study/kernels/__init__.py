"""Architectures as neural-tangents ``stax`` models: one definition gives the finite network
(``init_fn``, ``apply_fn``) and its infinite-width kernel (``kernel_fn``)."""
