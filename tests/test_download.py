"""The real download code against a local HTTP server on 127.0.0.1 serving a small mirror."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import numpy as np
import pytest

from archives import write_gin_zip, write_mnist, write_sha256sums
from ntk_study.data import DataError
from ntk_study.data.download import download_dataset
from ntk_study.data.fetch import file_digest
from ntk_study.data.prepare import load_prepared, prepare_dataset
from ntk_study.data.sources import SOURCES, plan_download


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def small_mirror(tmp_path):
    """A mirror with MNIST (good) and TU (its zip corrupted after SHA256SUMS was written)."""
    root = tmp_path / "mirror"
    arrays = write_mnist(root / "mnist")
    write_sha256sums(root / "mnist")
    (root / "tu").mkdir()
    write_gin_zip(root / "tu" / "dataset.zip", "TOY", [(0, [0, 1], [[1], [0]])] * 10)
    write_sha256sums(root / "tu")
    zipped = root / "tu" / "dataset.zip"
    zipped.write_bytes(zipped.read_bytes()[:-20] + b"corrupted!" * 2)
    return root, arrays


@pytest.fixture
def http_mirror(small_mirror):
    root, arrays = small_mirror
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", arrays
    server.shutdown()
    server.server_close()


def test_download_over_http_verifies_and_records(http_mirror, tmp_path, capsys):
    url, arrays = http_mirror
    manifest_path = download_dataset("mnist", tmp_path / "raw", url)
    manifest = json.loads(manifest_path.read_text())
    assert [f["name"] for f in manifest["files"]] == list(SOURCES["mnist"].files)
    for entry in manifest["files"]:
        assert entry["location"].startswith(url)
        assert entry["sha256"] == file_digest(tmp_path / "raw" / "mnist" / entry["name"])
        assert entry["verified_against"] == f"sha256:{entry['sha256']}"
    assert "100%" in capsys.readouterr().err  # progress is shown
    prepare_dataset("mnist", tmp_path / "raw" / "mnist", tmp_path / "mnist.npz")
    np.testing.assert_array_equal(load_prepared(tmp_path / "mnist.npz")["y_test"], arrays["y_test"])


def test_corrupted_download_is_rejected_and_removed(http_mirror, tmp_path):
    url, _ = http_mirror
    with pytest.raises(DataError, match=r"checksum mismatch for dataset.zip .*download again"):
        download_dataset("tu", tmp_path / "raw", url)
    leftovers = list((tmp_path / "raw").rglob("*"))
    assert [p for p in leftovers if p.is_file()] == []  # no partial file, no manifest


def test_mirror_without_checksums_is_rejected(http_mirror, tmp_path):
    url, _ = http_mirror
    with pytest.raises(DataError, match=r"cifar10/SHA256SUMS"):
        download_dataset("cifar10", tmp_path / "raw", url)


def test_unreachable_host_names_the_url(tmp_path):
    with pytest.raises(DataError, match=r"127\.0\.0\.1:9/mnist/SHA256SUMS"):
        download_dataset("mnist", tmp_path / "raw", "http://127.0.0.1:9")


def test_unknown_dataset(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'imagenet'.*known datasets are cifar10, mnist, tu, uci121"):
        download_dataset("imagenet", tmp_path, None)


def test_canonical_plan_uses_published_checksums():
    planned = plan_download("mnist", None)
    assert planned[0].location == "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"
    assert all(p.expected and p.expected.startswith("md5:") for p in planned)
    assert plan_download("cifar10", None)[0].name == "cifar-10-python.tar.gz"


def test_real_mirror_directory(mirror, tmp_path):
    """The shared offline mirror works as a drop-in data_mirror, picking CIFAR's image folder."""
    planned = plan_download("cifar10", str(mirror))
    assert [p.name for p in planned] == ["cifar-10-imagefolder.tar.gz"]
    manifest = json.loads(download_dataset("tu", tmp_path, str(mirror)).read_text())
    expected = (mirror / "tu" / "SHA256SUMS").read_text().split()[0]
    assert manifest["files"][0]["sha256"] == expected


def test_truncated_mirror_file_fails_checksum(mirror, tmp_path):
    local = tmp_path / "mirror" / "uci121"
    local.mkdir(parents=True)
    (local / "SHA256SUMS").write_text((mirror / "uci121" / "SHA256SUMS").read_text())
    (local / "data.tar.gz").write_bytes((mirror / "uci121" / "data.tar.gz").read_bytes()[:100_000])
    with pytest.raises(DataError, match="checksum mismatch for data.tar.gz"):
        download_dataset("uci121", tmp_path / "raw", str(tmp_path / "mirror"))
    assert not (tmp_path / "raw" / "uci121" / "data.tar.gz").exists()
