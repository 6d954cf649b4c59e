"""CIFAR-10 from the official python tarball or from an image-folder tree.

Both give x (N, 32, 32, 3) uint8 and integer labels in the official class order.
"""

from __future__ import annotations

import io
import pickle
import re
import tarfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from ntk_study.data.errors import DataError

CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
PYTHON_TARBALL = "cifar-10-python.tar.gz"
IMAGEFOLDER_TARBALL = "cifar-10-imagefolder.tar.gz"
_IMAGE_PATH = re.compile(r"(?:^|/)(train|test)/([a-z]+)/(\d+)\.(png|jpg|jpeg)$")


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:gz")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DataError(f"{path} is not a readable tar.gz ({exc}): download it again.") from exc


def _members(path: Path):
    """Iterate (member, bytes) over the regular files of a tarball, mapping damage to DataError."""
    archive = _open_tar(path)
    try:
        with archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    assert handle is not None
                    yield member, handle.read()
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is truncated or corrupt ({exc}): delete it and download again.") from exc


def read_python_tarball(path: str | Path) -> dict[str, np.ndarray]:
    """Parse ``cifar-10-python.tar.gz`` (pickled ``data_batch_1..5`` and ``test_batch``)."""
    path = Path(path)
    batches: dict[str, dict] = {}
    for member, payload in _members(path):
        name = Path(member.name).name
        if name.startswith("data_batch_") or name == "test_batch":
            batches[name] = pickle.loads(payload, encoding="bytes")
    wanted = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [name for name in wanted if name not in batches]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}: it is not the CIFAR-10 python archive.")

    def stack(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        data = np.concatenate([batches[n][b"data"] for n in names])
        labels = np.concatenate([np.asarray(batches[n][b"labels"]) for n in names])
        # Rows are 3072 bytes: the red, green and blue 32x32 planes.
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels.astype(np.uint8)

    x_train, y_train = stack(wanted[:5])
    x_test, y_test = stack(wanted[5:])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def read_imagefolder_tarball(path: str | Path) -> dict[str, np.ndarray]:
    """Parse ``<root>/{train,test}/<class>/<NNNN>.{png,jpg}``, ordered by class then NNNN."""
    path = Path(path)
    found: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "test": []}
    for member, payload in _members(path):
        match = _IMAGE_PATH.search(member.name)
        if not match:
            continue
        split, label_name, index, _ = match.groups()
        if label_name not in CLASSES:
            raise DataError(f"{path}: unknown CIFAR-10 class folder {label_name!r} in {member.name}.")
        try:
            image = np.asarray(Image.open(io.BytesIO(payload)).convert("RGB"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: image {member.name} cannot be decoded ({exc}).") from exc
        if image.shape != (32, 32, 3):
            raise DataError(f"{path}: image {member.name} is {image.shape}, not 32x32 RGB.")
        found[split].append((CLASSES.index(label_name), int(index), image))
    arrays: dict[str, np.ndarray] = {}
    for split, items in found.items():
        if not items:
            raise DataError(f"{path} holds no {split}/<class>/ images: not a CIFAR-10 image folder.")
        items.sort(key=lambda item: (item[0], item[1]))
        arrays[f"x_{split}"] = np.stack([item[2] for item in items])
        arrays[f"y_{split}"] = np.array([item[0] for item in items], dtype=np.uint8)
    return arrays


def read_cifar10(raw_dir: str | Path) -> tuple[dict[str, np.ndarray], str]:
    """Read whichever CIFAR-10 archive ``raw_dir`` holds; return arrays and the format name."""
    raw_dir = Path(raw_dir)
    if (raw_dir / PYTHON_TARBALL).exists():
        return read_python_tarball(raw_dir / PYTHON_TARBALL), "python-tarball"
    if (raw_dir / IMAGEFOLDER_TARBALL).exists():
        return read_imagefolder_tarball(raw_dir / IMAGEFOLDER_TARBALL), "imagefolder"
    raise DataError(f"{raw_dir} holds neither {PYTHON_TARBALL} nor {IMAGEFOLDER_TARBALL}: run the download step.")
