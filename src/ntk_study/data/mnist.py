"""MNIST in the IDX format (gzip-compressed ``*-idx{1,3}-ubyte.gz``)."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ntk_study.data.errors import DataError

IDX_UBYTE = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes into an array of its shape."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is not a valid gzip file ({exc}): download it again.") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE:
        raise DataError(f"{path} has no IDX unsigned-byte header: it is not an MNIST IDX file.")
    n_dims = raw[3]
    header = 4 + 4 * n_dims
    shape = struct.unpack(f">{n_dims}I", raw[4:header])
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"{path} holds {len(raw)} bytes but its header {shape} needs {expected}: "
            "the file is truncated or corrupt; download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist(raw_dir: str | Path) -> dict[str, np.ndarray]:
    """Return x_train (60000, 28, 28) uint8, y_train, x_test, y_test."""
    raw_dir = Path(raw_dir)
    arrays = {
        "x_train": read_idx(raw_dir / "train-images-idx3-ubyte.gz"),
        "y_train": read_idx(raw_dir / "train-labels-idx1-ubyte.gz"),
        "x_test": read_idx(raw_dir / "t10k-images-idx3-ubyte.gz"),
        "y_test": read_idx(raw_dir / "t10k-labels-idx1-ubyte.gz"),
    }
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise DataError(f"MNIST {split} images and labels differ in length in {raw_dir}.")
    return arrays
