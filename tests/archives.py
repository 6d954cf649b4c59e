"""Builders of small files in the real dataset formats, for parser and download tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def write_mnist(directory: Path, n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    write_idx_gz(directory / "train-images-idx3-ubyte.gz", arrays["x_train"])
    write_idx_gz(directory / "train-labels-idx1-ubyte.gz", arrays["y_train"])
    write_idx_gz(directory / "t10k-images-idx3-ubyte.gz", arrays["x_test"])
    write_idx_gz(directory / "t10k-labels-idx1-ubyte.gz", arrays["y_test"])
    return arrays


def _add_bytes(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def write_cifar_python_tarball(path: Path, images: np.ndarray, labels: np.ndarray, n_test: int) -> None:
    """The official layout: 5 pickled training batches and a test batch, planar RGB rows."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    train_rows, test_rows = rows[:-n_test], rows[-n_test:]
    train_labels, test_labels = labels[:-n_test], labels[-n_test:]
    with tarfile.open(path, "w:gz") as archive:
        for i, chunk in enumerate(np.array_split(np.arange(len(train_rows)), 5), start=1):
            batch = {b"data": train_rows[chunk], b"labels": train_labels[chunk].tolist()}
            _add_bytes(archive, f"cifar-10-batches-py/data_batch_{i}", pickle.dumps(batch))
        _add_bytes(archive, "cifar-10-batches-py/test_batch",
                   pickle.dumps({b"data": test_rows, b"labels": test_labels.tolist()}))


def write_cifar_imagefolder_tarball(path: Path, images: np.ndarray, labels: np.ndarray, n_test: int) -> None:
    from ntk_study.data.cifar10 import CLASSES

    with tarfile.open(path, "w:gz") as archive:
        counters: dict[tuple[str, int], int] = {}
        for index, (image, label) in enumerate(zip(images, labels)):
            split = "test" if index >= len(images) - n_test else "train"
            number = counters.get((split, label), 0)
            counters[(split, label)] = number + 1
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            _add_bytes(archive, f"cifar-10-imagefolder/{split}/{CLASSES[label]}/{number:04d}.png", buffer.getvalue())


def write_uci_tarball(path: Path, datasets: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Fernández-Delgado layout: <name>/<name>.txt, <name>_R.dat, conxuntos*.dat."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as archive:
        for name, (x, y) in datasets.items():
            n, d = x.shape
            meta = (f"n_entradas= {d}\nn_clases= {len(np.unique(y))}\nn_arquivos= 1\n"
                    f"fich1= {name}_R.dat\nn_patrons1= {n}\n")
            header = "\t" + "\t".join(f"f{i + 1}" for i in range(d)) + "\tclase\n"
            body = "".join(f"{i + 1}\t" + "\t".join(f"{v:g}" for v in row) + f"\t{label}\n"
                           for i, (row, label) in enumerate(zip(x, y)))
            order = rng.permutation(n)
            half = n // 2
            conxuntos = " ".join(map(str, order[:half])) + "\n" + " ".join(map(str, order[half:])) + "\n"
            folds = np.array_split(rng.permutation(n), 4)
            kfold = "".join(
                " ".join(map(str, np.setdiff1d(np.arange(n), fold))) + "\n" + " ".join(map(str, fold)) + "\n"
                for fold in folds
            )
            for file_name, text in [(f"{name}.txt", meta), (f"{name}_R.dat", header + body),
                                    ("conxuntos.dat", conxuntos), ("conxuntos_kfold.dat", kfold)]:
                _add_bytes(archive, f"data/{name}/{file_name}", text.encode())


def write_gin_zip(path: Path, name: str, graphs: list[tuple[int, list[int], list[list[int]]]]) -> None:
    """GIN ``dataset.zip``: graphs as (label, node tags, adjacency lists), 10 folds."""
    lines = [str(len(graphs))]
    for label, tags, adjacency in graphs:
        lines.append(f"{len(tags)} {label}")
        lines += [" ".join(map(str, [tag, len(nbrs), *nbrs])) for tag, nbrs in zip(tags, adjacency)]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"dataset/{name}/{name}.txt", "\n".join(lines) + "\n")
        for k in range(1, 11):
            test = [g for g in range(len(graphs)) if g % 10 == k - 1]
            train = [g for g in range(len(graphs)) if g % 10 != k - 1]
            archive.writestr(f"dataset/{name}/10fold_idx/train_idx-{k}.txt", "\n".join(map(str, train)) + "\n")
            archive.writestr(f"dataset/{name}/10fold_idx/test_idx-{k}.txt", "\n".join(map(str, test)) + "\n")


def write_sha256sums(directory: Path) -> None:
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
             for p in sorted(directory.iterdir()) if p.is_file() and p.name != "SHA256SUMS"]
    (directory / "SHA256SUMS").write_text("\n".join(lines) + "\n")
