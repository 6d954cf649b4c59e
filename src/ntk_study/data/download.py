"""Download (or copy from a mirror) every file of a dataset and record a manifest."""

from __future__ import annotations

from pathlib import Path

from ntk_study.data.fetch import fetch, parse_checksum_file
from ntk_study.data.sources import CANONICAL_URL_VARIABLE, plan_download
from ntk_study.io import save_json, save_text

MANIFEST = "manifest.json"
# sha256 of canonical files whose host publishes no checksum (UCI collection, TU graphs), as
# first downloaded; later downloads are verified against it. It is not a Snakemake output, so
# it survives a rerun of the download rule (which deletes the manifest first).
RECORD = "RECORDED_SHA256SUMS"


def read_record(path: Path) -> dict[str, str]:
    """The recorded checksums ({name: "sha256:<hex>"}), empty when nothing was recorded yet."""
    return parse_checksum_file(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_record(path: Path, checksums: dict[str, str]) -> None:
    lines = [f"{digest.removeprefix('sha256:')}  {name}" for name, digest in sorted(checksums.items())]
    save_text(path, "\n".join(lines) + "\n")


def download_dataset(dataset: str, raw_dir: str | Path, mirror: str | None = None) -> Path:
    """Fetch ``dataset`` into ``raw_dir/<dataset>/``; write ``manifest.json`` last.

    The manifest lists, for every file, where it came from, its sha256 and what it was
    verified against: the mirror's SHA256SUMS, the published checksum of the canonical host,
    or, where the host publishes none, the sha256 recorded at the first download.
    """
    target_dir = Path(raw_dir) / dataset
    record_path = target_dir / RECORD
    recorded = read_record(record_path)
    newly_recorded: dict[str, str] = {}
    entries = []
    for planned in plan_download(dataset, mirror):
        expected, verified_against, advice = planned.expected, planned.expected, None
        if expected and not mirror:
            advice = ("It is not the file its publisher's checksum describes: the download is "
                      f"corrupt or truncated (run again), or {planned.location} serves another "
                      f"file (check ${CANONICAL_URL_VARIABLE} if set, or use a data_mirror).")
        if expected is None and planned.name in recorded:
            expected = recorded[planned.name]
            verified_against = f"{expected} (recorded at the first download, {RECORD})"
            advice = (f"It differs from the file first downloaded from this host (sha256 recorded in "
                      f"{record_path}). If the host changed the dataset on purpose, delete that "
                      "record and run again; otherwise the download is corrupt: run again.")
        sha256 = fetch(planned.location, target_dir / planned.name, expected, advice=advice)
        if expected is None:
            newly_recorded[planned.name] = f"sha256:{sha256}"
            verified_against = f"nothing (no published checksum); sha256 recorded in {RECORD}"
        entries.append({
            "name": planned.name,
            "location": planned.location,
            "sha256": sha256,
            "verified_against": verified_against,
        })
    if newly_recorded:
        write_record(record_path, {**recorded, **newly_recorded})
    manifest = target_dir / MANIFEST
    save_json(manifest, {"dataset": dataset, "mirror": mirror, "files": entries})
    return manifest
