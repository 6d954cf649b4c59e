"""Where every number came from: config values, data source and checksum, git commit,
runtime and peak memory (from Snakemake's benchmark files) and the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from ntk_study.io import save_json


def git_commit(repo: str | Path = ".") -> str:
    """The checked-out commit, with "+dirty" when tracked files differ from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    import jax

    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "jax": jax.__version__,
        "jax_devices": [str(device) for device in jax.devices()],
    }


def read_benchmark(path: str | Path) -> dict[str, Any]:
    """Runtime (s) and peak resident memory (MB) from a Snakemake ``benchmark:`` file."""
    table = pd.read_csv(path, sep="\t")
    return {
        "rule_file": str(path),
        "runtime_s": round(float(table["s"].mean()), 2),
        "max_rss_mb": round(float(pd.to_numeric(table["max_rss"], errors="coerce").max()), 1),
    }


def read_data_sources(manifests: list[str | Path]) -> list[dict[str, Any]]:
    sources = []
    for path in manifests:
        manifest = json.loads(Path(path).read_text())
        for entry in manifest["files"]:
            sources.append({"dataset": manifest["dataset"], "file": entry["name"],
                            "location": entry["location"], "sha256": entry["sha256"]})
    return sources


def write_provenance(figure_id: str, settings: dict[str, Any], scale: str, seed: int,
                     manifests: list[str | Path], benchmarks: list[str | Path],
                     output: str | Path) -> None:
    save_json(output, {
        "figure": figure_id,
        "scale": scale,
        "seed": seed,
        "settings": settings,
        "data": read_data_sources(manifests) or "none (synthetic inputs drawn from the seed)",
        "git_commit": git_commit(),
        "rules": [read_benchmark(path) for path in benchmarks],
        "machine": machine(),
    })
