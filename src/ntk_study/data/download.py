"""Download (or copy from a mirror) every file of a dataset and record a manifest."""

from __future__ import annotations

from pathlib import Path

from ntk_study.data.fetch import fetch
from ntk_study.data.sources import plan_download
from ntk_study.io import save_json

MANIFEST = "manifest.json"


def download_dataset(dataset: str, raw_dir: str | Path, mirror: str | None = None) -> Path:
    """Fetch ``dataset`` into ``raw_dir/<dataset>/``; write ``manifest.json`` last.

    The manifest lists, for every file, where it came from, its sha256 and what it was
    verified against; later stages and the book's provenance blocks read it.
    """
    target_dir = Path(raw_dir) / dataset
    entries = []
    for planned in plan_download(dataset, mirror):
        sha256 = fetch(planned.location, target_dir / planned.name, planned.expected)
        entries.append(
            {
                "name": planned.name,
                "location": planned.location,
                "sha256": sha256,
                "verified_against": planned.expected or "nothing (no published checksum)",
            }
        )
    manifest = target_dir / MANIFEST
    save_json(manifest, {"dataset": dataset, "mirror": mirror, "files": entries})
    return manifest
