"""Fetch one file from a URL or a local path, verify its checksum, write it atomically."""

from __future__ import annotations

import hashlib
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from ntk_study.data.errors import DataError
from ntk_study.io import atomic_path

CHUNK = 1 << 20


def is_url(location: str) -> bool:
    return urllib.parse.urlparse(location).scheme in {"http", "https", "file"}


def join_location(base: str, *parts: str) -> str:
    """Join a directory path or base URL with relative parts."""
    if is_url(base):
        return base.rstrip("/") + "/" + "/".join(parts)
    return str(Path(base).joinpath(*parts))


def read_text(location: str, timeout: float = 60.0) -> str:
    """Read a small text file (a SHA256SUMS) from a URL or a path."""
    try:
        if is_url(location):
            with urllib.request.urlopen(location, timeout=timeout) as response:
                return response.read().decode("utf-8")
        return Path(location).read_text(encoding="utf-8")
    except (OSError, urllib.error.URLError) as exc:
        raise DataError(f"cannot read {location}: {exc}") from exc


def parse_checksum_file(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` output (``<hex>  <name>`` per line) into {name: "sha256:<hex>"}."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name:
            raise DataError(f"malformed SHA256SUMS line: {line!r}")
        table[name] = f"sha256:{digest.lower()}"
    return table


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


DEFAULT_MISMATCH_ADVICE = (
    "The download is corrupt, truncated or not the expected file: delete it and download "
    "again, or check that the mirror's SHA256SUMS matches its files."
)


def verify_checksum(path: Path, expected: str, label: str, advice: str | None = None) -> None:
    """Raise DataError unless ``path`` has the ``algorithm:hex`` digest ``expected``."""
    algorithm, _, want = expected.partition(":")
    got = file_digest(path, algorithm)
    if got != want.lower():
        raise DataError(f"checksum mismatch for {label}: expected {algorithm} {want}, got {got}. "
                        f"{advice or DEFAULT_MISMATCH_ADVICE}")


def _copy_with_progress(source: BinaryIO, target: BinaryIO, total: int | None, label: str) -> None:
    done, last_percent = 0, -10
    for block in iter(lambda: source.read(CHUNK), b""):
        target.write(block)
        done += len(block)
        if total:
            percent = int(100 * done / total)
            if percent >= last_percent + 10:
                last_percent = percent
                print(f"  {label}: {percent:3d}% of {total / 1e6:.1f} MB", file=sys.stderr, flush=True)
    if total is None:
        print(f"  {label}: {done / 1e6:.1f} MB", file=sys.stderr, flush=True)


def fetch(location: str, target: str | Path, expected: str | None, timeout: float = 120.0,
          advice: str | None = None) -> str:
    """Copy ``location`` (URL or path) to ``target``, verified against ``expected``.

    ``expected`` is ``"sha256:<hex>"`` or ``"md5:<hex>"``; ``None`` means no pinned checksum
    is known (a warning is printed). ``advice`` replaces the default fix named by a checksum
    mismatch. Returns the sha256 of the file written. Nothing is left at ``target`` if the
    copy or the verification fails.
    """
    target = Path(target)
    label = target.name
    print(f"fetching {location} -> {target}", file=sys.stderr, flush=True)
    with atomic_path(target) as tmp:
        try:
            with open(tmp, "wb") as out:
                if is_url(location):
                    with urllib.request.urlopen(location, timeout=timeout) as response:
                        length = response.headers.get("Content-Length")
                        _copy_with_progress(response, out, int(length) if length else None, label)
                else:
                    with open(location, "rb") as source:
                        _copy_with_progress(source, out, Path(location).stat().st_size, label)
        except FileNotFoundError as exc:
            raise DataError(f"{location} does not exist: check the data source (data_mirror).") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise DataError(f"download of {location} failed: {exc}. Check the network or use a data_mirror.") from exc
        if expected is None:
            print(f"  warning: no pinned checksum for {label}; recording its sha256 only",
                  file=sys.stderr, flush=True)
        else:
            verify_checksum(tmp, expected, f"{label} (from {location})", advice)
        sha256 = file_digest(tmp)
    return sha256

