"""Turn downloaded archives into one prepared ``.npz`` per dataset.

Prepared layout (what later rules read):

* ``mnist.npz``, ``cifar10.npz``: ``x_train`` (N, H, W[, C]) uint8, ``y_train`` uint8,
  ``x_test``, ``y_test``; CIFAR-10 also ``source_format`` ("python-tarball" or
  "imagefolder"; the image folder is ordered by class, then by index within the class).
* ``uci121.npz``: ``names`` and, per dataset ``<name>``: ``<name>.x`` (n, d) float64,
  ``<name>.y`` int64, ``<name>.n_classes``, ``<name>.has_test_file``,
  ``<name>.validation_train`` / ``<name>.validation_test`` (``conxuntos.dat``) and
  ``<name>.fold{k}_train`` / ``<name>.fold{k}_test`` for k = 0..3 (``conxuntos_kfold.dat``).
* ``tu-<NAME>.npz``: ``labels`` (G,), ``node_offsets`` (G+1,), ``node_tags`` (N,),
  ``edges`` (E, 2) and ``fold{k}_train`` / ``fold{k}_test`` for k = 0..9 (the GIN folds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntk_study.data import cifar10, mnist, tu, uci
from ntk_study.data.errors import DataError, GraphSetAbsent
from ntk_study.io import save_npz

TU_PREFIX = "tu-"


def raw_source_of(dataset: str) -> str:
    """The download a prepared dataset comes from (``tu-MUTAG`` -> ``tu``)."""
    return "tu" if dataset.startswith(TU_PREFIX) else dataset


def read_prepared_arrays(dataset: str, raw_dir: str | Path) -> dict[str, np.ndarray]:
    raw_dir = Path(raw_dir)
    if dataset == "mnist":
        return mnist.read_mnist(raw_dir)
    if dataset == "cifar10":
        arrays, source_format = cifar10.read_cifar10(raw_dir)
        return {**arrays, "source_format": np.array(source_format)}
    if dataset == "uci121":
        return uci.to_arrays(uci.read_uci_archive(raw_dir / "data.tar.gz"))
    if dataset.startswith(TU_PREFIX):
        name = dataset[len(TU_PREFIX):]
        return tu.to_arrays(tu.read_graph_set(raw_dir / "dataset.zip", name))
    raise DataError(
        f"unknown dataset {dataset!r}: use mnist, cifar10, uci121 or tu-<GRAPHSET> (e.g. tu-MUTAG)."
    )


def prepare_dataset(dataset: str, raw_dir: str | Path, output: str | Path, optional: bool = False) -> None:
    """Parse the raw files of ``dataset`` in ``raw_dir`` and write ``output`` atomically.

    An ``optional`` graph set that the data source lacks is not an error: ``output`` then records
    why (``absent_reason``), and the figures that read it report that set as not available.
    """
    try:
        arrays = read_prepared_arrays(dataset, raw_dir)
    except GraphSetAbsent as absent:
        if not optional:
            raise
        print(f"{dataset} is optional and absent: {absent}")
        arrays = {"absent_reason": np.array(str(absent))}
    save_npz(output, arrays)


def load_prepared(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
