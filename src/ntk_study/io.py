"""Small file helpers shared by every stage: atomic writes, so that no failed job leaves a
half-written output behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_npz(target: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Write arrays to an uncompressed ``.npz`` atomically."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


@contextlib.contextmanager
def npz_writer(target: str | os.PathLike[str]) -> Iterator[Callable[[str, np.ndarray], None]]:
    """Stream arrays one at a time into an uncompressed ``.npz`` (readable by ``np.load``), atomically.

    For kernel files larger than memory should hold at once: ``with npz_writer(path) as put:
    put("name", array)``. The file appears only when the block finishes without error.
    """
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        def put(name: str, array: np.ndarray) -> None:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)

        yield put


def save_csv(target: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write a data frame as CSV (no index) atomically."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)


def save_npy(target: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write one array as ``.npy`` atomically (readable with ``np.load(..., mmap_mode="r")``)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:  # a path would get ".npy" appended
        np.save(handle, array)


def save_text(target: str | os.PathLike[str], text: str) -> None:
    """Write a text file (e.g. a Markdown table) atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def copy_file(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy a file atomically."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def save_json(target: str | os.PathLike[str], payload: Any) -> None:
    """Write JSON (indented, keys sorted) atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
