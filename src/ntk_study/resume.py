"""Finished pieces of a long rule's work, kept so that an interrupted run resumes where it stopped.

The published-setting GNTK table is hours of CPU on a workstation (one Gram sweep, one SVM search per
candidate). A piece is an npz file in the figure's results folder under resume/, with a fingerprint of
everything it was computed from (inputs, settings, the code that computes it); a later run reuses it
only when the fingerprint matches, so a changed setting or kernel recomputes. A piece is written under
a temporary name and renamed, so an interrupted write never leaves a piece that could be reused.
These pieces are not results: no rule lists them and the book never reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FOLDER = "resume"  # inside the figure's results folder
_FINGERPRINT_KEY = "_fingerprint"


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able parts and numpy arrays (by shape, dtype and bytes)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.shape}{part.dtype}".encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def source_fingerprint(*modules: Any) -> str:
    """A hash of the source files of ``modules``: a checkpoint of their output is stale once they change."""
    return fingerprint(*[Path(module.__file__).read_text() for module in modules])


class ResumePoints:
    """Pieces under ``folder`` (``None``: keep nothing, compute everything)."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _path(self, name: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{name.replace('/', '__')}.npz"

    def load(self, name: str, key: str) -> dict[str, np.ndarray] | None:
        """The arrays saved as ``name`` with fingerprint ``key``, or None (absent, stale or unreadable)."""
        if self.folder is None or not self._path(name).exists():
            return None
        try:
            with np.load(self._path(name)) as stored:
                if str(stored[_FINGERPRINT_KEY]) != key:
                    return None
                return {k: stored[k] for k in stored.files if k != _FINGERPRINT_KEY}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None  # a damaged piece is recomputed

    def save(self, name: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        if self.folder is None:
            return
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as handle:
            np.savez(handle, **arrays, **{_FINGERPRINT_KEY: np.array(key)})
        os.replace(partial, path)

    def reuse_or_run(self, name: str, key: str,
                     run: Callable[[], dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], bool]:
        """The piece ``name`` under fingerprint ``key``, or ``run()`` saved as it; with its ``seconds``
        (those of the run that computed it) and whether it was reused."""
        if (stored := self.load(name, key)) is not None:
            return stored, True
        began = time.perf_counter()
        arrays = {**run()}
        arrays["seconds"] = np.array(time.perf_counter() - began)
        self.save(name, key, arrays)
        return arrays, False
