"""Long rules resume: finished pieces are reused only when everything they came from is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ntk_study.resume import ResumePoints, fingerprint


def test_a_piece_is_reused_only_under_its_fingerprint(tmp_path):
    points = ResumePoints(tmp_path)
    arrays = {"outer": np.arange(6.0).reshape(2, 3)}
    key = fingerprint("MUTAG", np.ones(3), [0.1, 1.0])
    assert points.load("scores/MUTAG/a", key) is None
    points.save("scores/MUTAG/a", key, arrays)
    np.testing.assert_array_equal(points.load("scores/MUTAG/a", key)["outer"], arrays["outer"])
    # any change to what the piece came from makes it stale
    assert points.load("scores/MUTAG/a", fingerprint("MUTAG", np.ones(3), [0.1, 2.0])) is None
    assert points.load("scores/MUTAG/a", fingerprint("MUTAG", np.ones(3, dtype=np.float32), [0.1, 1.0])) is None
    assert points.load("scores/MUTAG/a", fingerprint("MUTAG", np.ones((3, 1)), [0.1, 1.0])) is None
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]  # written under a temporary name


def test_a_damaged_piece_is_recomputed_not_read(tmp_path):
    points = ResumePoints(tmp_path)
    points.save("grams", "k", {"L1": np.eye(2)})
    path = next(tmp_path.glob("*.npz"))
    path.write_bytes(path.read_bytes()[:40])
    assert points.load("grams", "k") is None


def test_without_a_folder_nothing_is_kept(tmp_path):
    points = ResumePoints(None)
    points.save("x", "k", {"a": np.zeros(1)})
    assert points.load("x", "k") is None


@pytest.fixture()
def mutag_run(mirror, tmp_path):
    """A small tab-gntk run on MUTAG: its settings, results folder and prepared data."""
    from ntk_study.data.prepare import prepare_dataset

    prepare_dataset("tu-MUTAG", mirror / "tu", tmp_path / "tu-MUTAG.npz")
    settings = {"datasets": ["MUTAG"], "max_graphs": 60, "blocks": [1], "blocks_by_dataset": {},
                "layers_per_block": [1], "scales": ["uniform"], "grams": ["raw", "cosine"],
                "C": [0.1, 10.0], "C_by_dataset": None, "svm_max_iter": 100000, "nested": None}
    out = tmp_path / "results"
    out.mkdir()
    return settings, out, {"tu-MUTAG": tmp_path / "tu-MUTAG.npz"}


def test_an_interrupted_gntk_run_resumes_with_the_same_numbers(mutag_run, monkeypatch):
    from ntk_study.experiments import gntk

    settings, out, prepared = mutag_run
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # searches in this process, where the patches below apply
    gntk.kernels(settings, 0, out, prepared)
    gntk.compute(settings, 0, out, prepared)
    first = pd.read_csv(out / "accuracies.csv")
    first_kernels = dict(np.load(out / "kernels.npz"))
    assert not pd.read_csv(out / "kernel_times.csv")["resumed"].any()

    # The rerun computes nothing: every sweep and every search comes from resume/.
    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished piece was recomputed")

    monkeypatch.setattr(gntk, "gntk_grams", must_not_run)
    monkeypatch.setattr(gntk, "_score_gram", must_not_run)
    gntk.kernels(settings, 0, out, prepared)
    gntk.compute({**settings, "nested": None}, 0, out, prepared)
    assert pd.read_csv(out / "kernel_times.csv")["resumed"].all()
    pd.testing.assert_frame_equal(pd.read_csv(out / "accuracies.csv"), first)
    for key, gram in np.load(out / "kernels.npz").items():
        np.testing.assert_array_equal(gram, first_kernels[key])

    # A changed search setting is searched again.
    with pytest.raises(AssertionError, match="recomputed"):
        gntk.compute({**settings, "C": [0.1, 100.0]}, 0, out, prepared)
