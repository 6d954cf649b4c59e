"""Parsers on small files in the real formats and on the real mirror files."""

from __future__ import annotations

import gzip
import zipfile

import numpy as np
import pytest

from archives import (
    write_cifar_imagefolder_tarball,
    write_cifar_python_tarball,
    write_gin_zip,
    write_idx_gz,
    write_mnist,
    write_uci_tarball,
)
from ntk_study.data import DataError
from ntk_study.data.cifar10 import read_imagefolder_tarball, read_python_tarball
from ntk_study.data.mnist import read_idx, read_mnist
from ntk_study.data.prepare import load_prepared, prepare_dataset
from ntk_study.data.tu import read_graph_set
from ntk_study.data.uci import read_uci_archive

# --- small fixtures in the real formats -------------------------------------------------

def test_idx_round_trip(tmp_path):
    written = write_mnist(tmp_path)
    read = read_mnist(tmp_path)
    for key, array in written.items():
        np.testing.assert_array_equal(read[key], array)


def test_idx_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "t.gz"
    write_idx_gz(path, np.zeros((4, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_idx_corrupt_gzip_is_rejected(tmp_path):
    path = tmp_path / "t.gz"
    write_idx_gz(path, np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(DataError, match="t.gz"):
        read_idx(path)


def test_cifar_python_tarball_and_imagefolder_agree(tmp_path):
    rng = np.random.default_rng(1)
    # Sorted by label so the image folder's (class, index) order equals the original order.
    labels = np.sort(rng.integers(0, 10, 30)).astype(np.uint8)
    images = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    write_cifar_python_tarball(tmp_path / "py.tar.gz", images, labels, n_test=6)
    write_cifar_imagefolder_tarball(tmp_path / "if.tar.gz", images, labels, n_test=6)
    from_python = read_python_tarball(tmp_path / "py.tar.gz")
    np.testing.assert_array_equal(from_python["x_train"], images[:24])
    np.testing.assert_array_equal(from_python["y_test"], labels[24:])
    from_folder = read_imagefolder_tarball(tmp_path / "if.tar.gz")
    train_order = np.lexsort((np.arange(24), labels[:24]))
    np.testing.assert_array_equal(from_folder["x_train"], images[:24][train_order])
    np.testing.assert_array_equal(from_folder["y_train"], labels[:24][train_order])


def test_cifar_truncated_tarball_is_rejected(tmp_path):
    images = np.zeros((12, 32, 32, 3), np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 10
    path = tmp_path / "cifar-10-python.tar.gz"
    write_cifar_python_tarball(path, images, labels, n_test=2)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz"):
        read_python_tarball(path)


def test_uci_archive_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 3)).round(4)
    y = rng.integers(0, 3, 20)
    write_uci_tarball(tmp_path / "data.tar.gz", {"toy": (x, y)})
    toy = read_uci_archive(tmp_path / "data.tar.gz")["toy"]
    np.testing.assert_allclose(toy.x, x, atol=1e-4)
    np.testing.assert_array_equal(toy.y, y)
    assert not toy.has_test_file
    train, validation = toy.validation_split
    assert sorted(np.concatenate([train, validation])) == list(range(20))
    for fold_train, fold_test in toy.folds:
        assert set(fold_train).isdisjoint(fold_test)


def test_gin_graphs_round_trip(tmp_path):
    graphs = [(1, [0, 2], [[1], [0]]), (0, [2, 2, 5], [[1, 2], [0], [0]])] * 10
    write_gin_zip(tmp_path / "dataset.zip", "TOY", graphs)
    toy = read_graph_set(tmp_path / "dataset.zip", "TOY")
    assert len(toy.labels) == 20 and list(toy.labels[:2]) == [0, 1]  # labels in order of appearance
    assert list(toy.node_offsets[:3]) == [0, 2, 5]
    assert toy.edges[:3].tolist() == [[0, 1], [1, 0], [2, 3]]
    assert len(toy.folds) == 10


def test_missing_graph_set_names_the_set_and_the_fix(tmp_path):
    write_gin_zip(tmp_path / "dataset.zip", "TOY", [(0, [0], [[]])])
    with pytest.raises(DataError, match=r"COLLAB.*not in this data source.*TOY"):
        read_graph_set(tmp_path / "dataset.zip", "COLLAB")


def test_corrupt_zip_is_rejected(tmp_path):
    (tmp_path / "dataset.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        read_graph_set(tmp_path / "dataset.zip", "MUTAG")


def test_unknown_dataset_is_rejected(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'svhn'"):
        prepare_dataset("svhn", tmp_path, tmp_path / "svhn.npz")
    assert not (tmp_path / "svhn.npz").exists()


# --- the real files of the mirror --------------------------------------------------------

def test_real_mnist(mirror):
    data = read_mnist(mirror / "mnist")
    assert data["x_train"].shape == (60000, 28, 28) and data["x_test"].shape == (10000, 28, 28)
    # Well-known class counts of the MNIST training set.
    assert np.bincount(data["y_train"]).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert data["x_train"].max() == 255


def test_real_cifar10_imagefolder(mirror):
    data = read_imagefolder_tarball(mirror / "cifar10" / "cifar-10-imagefolder.tar.gz")
    assert data["x_train"].shape == (50000, 32, 32, 3) and data["x_test"].shape == (10000, 32, 32, 3)
    assert np.bincount(data["y_train"]).tolist() == [5000] * 10
    assert np.bincount(data["y_test"]).tolist() == [1000] * 10
    assert 100 < data["x_train"].mean() < 140  # CIFAR-10's mean pixel value is about 121


def test_real_uci_collection(mirror):
    datasets = read_uci_archive(mirror / "uci121" / "data.tar.gz")
    listed = (mirror / "uci121" / "datasets.txt").read_text().split()
    assert sorted(datasets) == sorted(listed)
    abalone = datasets["abalone"]
    assert abalone.x.shape == (4177, 8) and abalone.n_classes == 3
    # Arora et al. (2020) use the 90 sets with at most 5,000 samples and no separate test file.
    small = [d for d in datasets.values() if len(d.x) <= 5000 and not d.has_test_file]
    assert len(small) == 90


def test_real_tu_graphs(mirror):
    mutag = read_graph_set(mirror / "tu" / "dataset.zip", "MUTAG")
    assert len(mutag.labels) == 188 and set(mutag.labels) == {0, 1}
    for train, test in mutag.folds:
        assert set(train).isdisjoint(test) and len(train) + len(test) == 188
    tested = np.concatenate([test for _, test in mutag.folds])
    # The published folds test 18 graphs each: every graph at most once, 8 never.
    assert len(set(tested)) == len(tested) == 180
    with zipfile.ZipFile(mirror / "tu" / "dataset.zip") as archive:
        assert "dataset/COLLAB/COLLAB.txt" not in archive.namelist()
    with pytest.raises(DataError, match="COLLAB"):
        read_graph_set(mirror / "tu" / "dataset.zip", "COLLAB")


def test_prepared_file_layout(mirror, tmp_path):
    prepare_dataset("tu-MUTAG", mirror / "tu", tmp_path / "tu-MUTAG.npz")
    prepared = load_prepared(tmp_path / "tu-MUTAG.npz")
    assert prepared["node_offsets"][-1] == len(prepared["node_tags"])
    assert {f"fold{k}_test" for k in range(10)} <= set(prepared)
