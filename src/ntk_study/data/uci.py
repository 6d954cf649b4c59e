"""The UCI collection preprocessed by Fernández-Delgado et al. (2014), ``data.tar.gz``.

Per dataset folder ``<name>/``: ``<name>.txt`` (``key= value`` metadata: ``n_clases``,
``n_entradas``, ``fich1`` and ``n_patrons1``, and ``fich2`` when there is a separate test
file), the data file(s) it names (a header line, then ``index  features...  class`` rows,
tab separated), ``conxuntos.dat`` (line 1: training indices, line 2: validation indices)
and ``conxuntos_kfold.dat`` (4 folds: a training line then a test line each). Indices are
0-based rows of the first data file.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ntk_study.data.errors import DataError

N_FOLDS = 4


@dataclass
class UciDataset:
    name: str
    x: np.ndarray  # (n, d) float64
    y: np.ndarray  # (n,) int64 class index
    n_classes: int
    validation_split: tuple[np.ndarray, np.ndarray]  # (train, validation) indices
    folds: list[tuple[np.ndarray, np.ndarray]]  # 4 x (train, test) indices
    has_test_file: bool


def parse_metadata(text: str) -> dict[str, str]:
    meta = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


def parse_data_file(text: str, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``index f1 ... fd class`` after one header line -> (x, y)."""
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{label}: rows are not all numeric or not all the same length ({exc}).") from exc
    if table.ndim != 2 or table.shape[1] < 3:
        raise DataError(f"{label}: expected index, features and class columns, got shape {table.shape}.")
    return table[:, 1:-1], table[:, -1].astype(np.int64)


def parse_index_lines(text: str, expected_lines: int, n: int, label: str) -> list[np.ndarray]:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != expected_lines:
        raise DataError(f"{label}: expected {expected_lines} index lines, found {len(lines)}.")
    parsed = [np.array(line.split(), dtype=np.int64) for line in lines]
    for indices in parsed:
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise DataError(f"{label}: index out of range [0, {n}).")
    return parsed


def build_dataset(name: str, files: dict[str, str]) -> UciDataset:
    """Assemble one dataset from its folder's text files (file name -> contents)."""
    label = f"UCI dataset {name}"
    if f"{name}.txt" not in files:
        raise DataError(f"{label}: metadata file {name}.txt is missing.")
    meta = parse_metadata(files[f"{name}.txt"])
    data_name = meta.get("fich1")
    if data_name not in files:
        raise DataError(f"{label}: data file {data_name!r} named in {name}.txt is missing.")
    x, y = parse_data_file(files[data_name], f"{name}/{data_name}")
    if "n_patrons1" in meta and int(meta["n_patrons1"]) != len(x):
        raise DataError(f"{label}: {data_name} has {len(x)} rows, metadata says {meta['n_patrons1']}.")
    if "n_entradas" in meta and int(meta["n_entradas"]) != x.shape[1]:
        raise DataError(f"{label}: {data_name} has {x.shape[1]} features, metadata says {meta['n_entradas']}.")
    for needed in ("conxuntos.dat", "conxuntos_kfold.dat"):
        if needed not in files:
            raise DataError(f"{label}: {needed} is missing.")
    split = parse_index_lines(files["conxuntos.dat"], 2, len(x), f"{name}/conxuntos.dat")
    kfold = parse_index_lines(files["conxuntos_kfold.dat"], 2 * N_FOLDS, len(x), f"{name}/conxuntos_kfold.dat")
    return UciDataset(
        name=name,
        x=x,
        y=y,
        n_classes=int(meta.get("n_clases", len(np.unique(y)))),
        validation_split=(split[0], split[1]),
        folds=[(kfold[2 * k], kfold[2 * k + 1]) for k in range(N_FOLDS)],
        has_test_file="fich2" in meta,
    )


def read_uci_archive(path: str | Path) -> dict[str, UciDataset]:
    """Parse every dataset folder of the Fernández-Delgado ``data.tar.gz``."""
    path = Path(path)
    folders: dict[str, dict[str, str]] = {}
    wanted_suffixes = (".txt", ".dat")
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = PurePosixPath(member.name).parts
                if not member.isfile() or len(parts) < 2 or not parts[-1].endswith(wanted_suffixes):
                    continue
                folder, file_name = parts[-2], parts[-1]
                handle = archive.extractfile(member)
                assert handle is not None
                folders.setdefault(folder, {})[file_name] = io.TextIOWrapper(handle, encoding="latin-1").read()
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is truncated or corrupt ({exc}): delete it and download again.") from exc
    datasets = {
        name: build_dataset(name, files)
        for name, files in sorted(folders.items())
        if f"{name}.txt" in files
    }
    if not datasets:
        raise DataError(f"{path} holds no UCI dataset folders: it is not the Fernández-Delgado data.tar.gz.")
    return datasets


def to_arrays(datasets: dict[str, UciDataset]) -> dict[str, np.ndarray]:
    """Flatten to npz keys ``<name>.x``, ``<name>.y``, ``<name>.validation_train`` ..."""
    arrays: dict[str, np.ndarray] = {"names": np.array(sorted(datasets))}
    for name, ds in datasets.items():
        arrays[f"{name}.x"] = ds.x
        arrays[f"{name}.y"] = ds.y
        arrays[f"{name}.n_classes"] = np.array(ds.n_classes)
        arrays[f"{name}.has_test_file"] = np.array(ds.has_test_file)
        arrays[f"{name}.validation_train"], arrays[f"{name}.validation_test"] = ds.validation_split
        for k, (train, test) in enumerate(ds.folds):
            arrays[f"{name}.fold{k}_train"] = train
            arrays[f"{name}.fold{k}_test"] = test
    return arrays
