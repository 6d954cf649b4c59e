"""The default download path (no data_mirror) through Snakemake, and every rule's shell command.

A local HTTP server stands in for the canonical hosts ($NTK_STUDY_CANONICAL_URL): it serves
each dataset under its canonical file name. The mirror's MNIST training images are re-gzipped
(their compressed bytes differ from the canonical .gz) and CIFAR-10's canonical tarball is not
in the mirror, so those two downloads must fail on the publishers' md5; the UCI and TU archives,
whose hosts publish no checksum, are recorded at the first download and verified at the next.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from checkout import SNAKEMAKE, copy_checkout
from ntk_study.cli import build_parser
from ntk_study.data.download import RECORD, download_dataset
from ntk_study.data.fetch import fetch, file_digest
from ntk_study.data.sources import CANONICAL_URL_VARIABLE, SOURCES, plan_download


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def canonical_host(tmp_path, mirror):
    """An HTTP server with the canonical layout: <dataset>/<canonical file name>."""
    root = tmp_path / "canonical"
    (root / "mnist").mkdir(parents=True)
    for name in SOURCES["mnist"].files:
        shutil.copy(mirror / "mnist" / name, root / "mnist" / name)
    (root / "cifar10").mkdir()
    # Not the canonical python tarball: the first MB of the mirror's image-folder archive.
    with open(mirror / "cifar10" / "cifar-10-imagefolder.tar.gz", "rb") as handle:
        (root / "cifar10" / "cifar-10-python.tar.gz").write_bytes(handle.read(1 << 20))
    for dataset, name in (("uci121", "data.tar.gz"), ("tu", "dataset.zip")):
        (root / dataset).mkdir()
        shutil.copy(mirror / dataset / name, root / dataset / name)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def run_snakemake(workdir: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, CANONICAL_URL_VARIABLE: url, "PYTHONHASHSEED": "0"}
    return subprocess.run([SNAKEMAKE, "--cores", "2", "--keep-going", "-p", *args], cwd=workdir,
                          capture_output=True, text=True, env=env)


def manifest_of(workdir: Path, dataset: str) -> dict:
    return json.loads((workdir / "resources" / "raw" / dataset / "manifest.json").read_text())


@pytest.mark.slow
def test_default_path_downloads_verifies_and_records(canonical_host, mirror, tmp_path):
    url, served = canonical_host
    workdir = copy_checkout(tmp_path / "study")
    (workdir / "no-mirror.yaml").write_text("data_mirror: null\n")
    config = ["--configfile", "config/test.yaml", "no-mirror.yaml"]
    targets = [f"resources/prepared/{name}.npz" for name in ("mnist", "cifar10", "uci121", "tu-MUTAG")]
    first = run_snakemake(workdir, url, *targets, *config)
    assert first.returncode != 0  # MNIST and CIFAR-10 must be refused
    output = first.stdout + first.stderr
    assert "--mirror" not in output  # the option is left out, not rendered empty

    # No published checksum: downloaded from the stand-in host, prepared, sha256 recorded.
    for dataset, prepared in (("uci121", "uci121"), ("tu", "tu-MUTAG")):
        assert (workdir / "resources" / "prepared" / f"{prepared}.npz").exists()
        entry = manifest_of(workdir, dataset)["files"][0]
        assert entry["location"].startswith(f"{url}/{dataset}/")
        assert entry["verified_against"].startswith("nothing (no published checksum)")
        expected = (mirror / dataset / "SHA256SUMS").read_text().split()[0]
        assert entry["sha256"] == expected
        record = (workdir / "resources" / "raw" / dataset / RECORD).read_text()
        assert record == f"{expected}  {entry['name']}\n"

    # Published md5 (MNIST, CIFAR-10): the non-canonical bytes are refused, nothing left behind.
    mnist_log = (workdir / "logs" / "download" / "mnist.log").read_text()
    assert "checksum mismatch for train-images-idx3-ubyte.gz" in mnist_log
    assert f"md5 {SOURCES['mnist'].checksums['train-images-idx3-ubyte.gz'][4:]}" in mnist_log
    cifar_log = (workdir / "logs" / "download" / "cifar10.log").read_text()
    assert "checksum mismatch for cifar-10-python.tar.gz" in cifar_log
    assert "c58f30108f718f92721af3b95e74349a" in cifar_log
    for dataset in ("mnist", "cifar10"):
        raw = workdir / "resources" / "raw" / dataset
        assert not raw.exists() or [p.name for p in raw.iterdir()] == []
        assert not (workdir / "resources" / "prepared" / f"{dataset}.npz").exists()

    # A second download verifies against the record; a changed file on the host is refused.
    zipped = served / "tu" / "dataset.zip"
    zipped.write_bytes(zipped.read_bytes() + b"changed on the host")
    manifests = ["resources/raw/uci121/manifest.json", "resources/raw/tu/manifest.json"]
    second = run_snakemake(workdir, url, *manifests, *config, "--forcerun", "download")
    assert second.returncode != 0
    entry = manifest_of(workdir, "uci121")["files"][0]
    assert entry["verified_against"] == f"sha256:{entry['sha256']} (recorded at the first download, {RECORD})"
    tu_log = (workdir / "logs" / "download" / "tu.log").read_text()
    assert "checksum mismatch for dataset.zip" in tu_log and "differs from the file first downloaded" in tu_log
    assert not (workdir / "resources" / "raw" / "tu" / "manifest.json").exists()


def test_published_md5_accepts_the_canonical_bytes(canonical_host, tmp_path, monkeypatch):
    """Three MNIST files of the mirror are the canonical bytes: the pinned md5 values accept them."""
    url, _ = canonical_host
    monkeypatch.setenv(CANONICAL_URL_VARIABLE, url)
    planned = {p.name: p for p in plan_download("mnist", None)}
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert planned[name].location == f"{url}/mnist/{name}"
        sha256 = fetch(planned[name].location, tmp_path / name, planned[name].expected)
        assert sha256 == file_digest(tmp_path / name)


def test_record_is_kept_when_a_dataset_is_downloaded_again(canonical_host, tmp_path, monkeypatch):
    url, _ = canonical_host
    monkeypatch.setenv(CANONICAL_URL_VARIABLE, url)
    first = json.loads(download_dataset("tu", tmp_path).read_text())["files"][0]
    second = json.loads(download_dataset("tu", tmp_path).read_text())["files"][0]
    assert second["sha256"] == first["sha256"] and "recorded at the first download" in second["verified_against"]
    assert len((tmp_path / "tu" / RECORD).read_text().splitlines()) == 1


# --- every rule's shell command, rendered by a dry run, parses with the study's CLI -------------

NTK_COMMAND = re.compile(r"^\S*python\S* -m ntk_study (.*)$")


def rendered_commands(workdir: Path, *args: str) -> tuple[list[str], int]:
    """The ntk_study command lines of a forced dry run, and the number of jobs it lists."""
    run = subprocess.run([SNAKEMAKE, "-n", "-p", "--forceall", *args], cwd=workdir,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stdout.splitlines()
    commands = [match.group(1) for line in lines if (match := NTK_COMMAND.match(line))]
    total = int(next(line.split()[1] for line in lines if line.startswith("total ")))
    return commands, total


def unparsable(command: str) -> str | None:
    """The argparse error of one rendered command (its redirections removed), or None."""
    words = shlex.split(command)
    argv = words[:words.index(">")] if ">" in words else words
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        return command[:300]
    return None


@pytest.fixture(scope="module")
def dry_run_checkout(tmp_path_factory):
    workdir = copy_checkout(tmp_path_factory.mktemp("dryrun"))
    (workdir / "no-mirror.yaml").write_text("data_mirror: null\n")
    return workdir


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml", "config/test.yaml"])
@pytest.mark.parametrize("with_mirror", [False, True], ids=["no-mirror", "mirror"])
def test_every_shell_command_renders_every_option_with_a_value(dry_run_checkout, configfile, with_mirror,
                                                               capsys):
    mirror_args = ["--config", "data_mirror=/some/mirror dir"] if with_mirror else []
    extra = [] if with_mirror else ["no-mirror.yaml"]
    commands, jobs = rendered_commands(dry_run_checkout, "--configfile", configfile, *extra, *mirror_args)
    assert len(commands) == jobs - 1  # every job but `all` runs one ntk_study command
    downloads = [c for c in commands if c.startswith("download ")]
    assert downloads and all(("--mirror '/some/mirror dir'" in c) == with_mirror for c in downloads)
    failures = [error for command in commands if (error := unparsable(command))]
    capsys.readouterr()  # argparse's messages
    assert failures == []


def test_an_option_rendered_without_value_is_caught():
    """The check above fails on the bug it guards against."""
    assert unparsable("download --dataset mnist --raw-dir resources/raw --mirror  > logs/x.log 2>&1")
    assert unparsable("download --dataset mnist --raw-dir resources/raw > logs/x.log 2>&1") is None
