"""Where each dataset comes from: canonical URLs, pinned checksums, mirror layout.

A *mirror* is a directory or base URL with one folder per dataset (``mnist/``, ``cifar10/``,
``uci121/``, ``tu/``), each holding the dataset's files and a ``SHA256SUMS``; every file is
verified against that list. Without a mirror the canonical hosts are used, verified against
the checksums pinned here where they are published.

``$NTK_STUDY_CANONICAL_URL`` (a base URL or directory) stands in for every canonical host:
files are then fetched from ``<it>/<dataset>/<canonical file name>`` and verified exactly like
canonical downloads (for a proxy, an internal copy of the canonical files, or the tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ntk_study.data.errors import DataError
from ntk_study.data.fetch import join_location, parse_checksum_file, read_text


@dataclass(frozen=True)
class Source:
    """One dataset's canonical download."""

    name: str
    base_url: str
    files: tuple[str, ...]
    # Published checksums of the canonical files ("md5:..." or "sha256:..."); a file not
    # listed has no published checksum and is recorded, not verified.
    checksums: dict[str, str] = field(default_factory=dict)
    # Other file sets a mirror may hold instead of ``files`` (same content, another format).
    alternatives: tuple[tuple[str, ...], ...] = ()


SOURCES: dict[str, Source] = {
    "mnist": Source(
        name="mnist",
        base_url="https://ossci-datasets.s3.amazonaws.com/mnist",
        files=(
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "cifar10": Source(
        name="cifar10",
        base_url="https://www.cs.toronto.edu/~kriz",
        files=("cifar-10-python.tar.gz",),
        checksums={"cifar-10-python.tar.gz": "md5:c58f30108f718f92721af3b95e74349a"},
        alternatives=(("cifar-10-imagefolder.tar.gz",),),
    ),
    "uci121": Source(
        name="uci121",
        base_url="http://persoal.citius.usc.es/manuel.fernandez.delgado/papers/jmlr",
        files=("data.tar.gz",),
    ),
    "tu": Source(
        name="tu",
        base_url="https://github.com/weihua916/powerful-gnns/raw/master",
        files=("dataset.zip",),
    ),
}


CANONICAL_URL_VARIABLE = "NTK_STUDY_CANONICAL_URL"


def canonical_base(source: Source) -> str:
    """The canonical host of ``source``, or its folder under ``$NTK_STUDY_CANONICAL_URL``."""
    override = os.environ.get(CANONICAL_URL_VARIABLE, "").strip()
    return join_location(override, source.name) if override else source.base_url


@dataclass(frozen=True)
class PlannedFile:
    """One file to fetch: where from, its name, and the checksum to verify."""

    location: str
    name: str
    expected: str | None


def source_for(dataset: str) -> Source:
    try:
        return SOURCES[dataset]
    except KeyError:
        raise DataError(
            f"unknown dataset {dataset!r}: known datasets are {', '.join(sorted(SOURCES))}."
        ) from None


def plan_download(dataset: str, mirror: str | None) -> list[PlannedFile]:
    """List the files to fetch for ``dataset`` from the canonical host or from ``mirror``."""
    source = source_for(dataset)
    if not mirror:
        base = canonical_base(source)
        return [PlannedFile(join_location(base, name), name, source.checksums.get(name))
                for name in source.files]
    sums_location = join_location(mirror, dataset, "SHA256SUMS")
    try:
        sums = parse_checksum_file(read_text(sums_location))
    except DataError as exc:
        raise DataError(
            f"the data mirror has no readable {sums_location} ({exc}). A mirror needs one "
            f"folder per dataset with a SHA256SUMS; fix data_mirror in the config."
        ) from exc
    for file_set in (source.files, *source.alternatives):
        if all(name in sums for name in file_set):
            return [PlannedFile(join_location(mirror, dataset, n), n, sums[n]) for n in file_set]
    wanted = " or ".join(", ".join(s) for s in (source.files, *source.alternatives))
    raise DataError(
        f"the mirror's {sums_location} lists none of the files of {dataset} ({wanted}). "
        "Add them to the mirror or unset data_mirror to download from the canonical host."
    )
