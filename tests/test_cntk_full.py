"""tab-cntk's full-CIFAR path: row shards of the Gram matrix, their assembly and solve, the
minibatch CNN, and the config check of the shard count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ntk_study.config import ConfigError, load_config, validate_config
from ntk_study.kernels.row_shards import shard_rows

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("n_train, n_test, shards",
                         [(40, 20, 3), (500, 100, 7), (50000, 10000, 200), (3, 1, 4), (5, 30, 20)])
def test_shards_cover_the_upper_triangle_and_the_test_rows_exactly_once(n_train, n_test, shards):
    blocks = shard_rows(n_train, n_test, shards)
    assert len(blocks) == shards
    assert [b.start for b in blocks[1:]] == [b.stop for b in blocks[:-1]]
    assert all(b.stop > b.start for b in blocks)
    assert blocks[0].start == 0 and blocks[-1].stop == n_train + n_test
    training = [b for b in blocks if b.is_training(n_train)]
    assert all(b.stop <= n_train and b.first_column == b.start for b in training)  # never straddles
    assert all(b.first_column == 0 for b in blocks if not b.is_training(n_train))
    if n_train >= 1000:  # equal work: the triangle's part of each training shard
        work = [(b.stop - b.start) * (n_train - b.start) - (b.stop - b.start) ** 2 / 2 for b in training]
        assert max(work) / min(work) < 1.1


def test_too_many_shards_is_a_config_error_naming_the_key():
    config = load_config(REPO / "config" / "test.yaml")
    config["figures"]["tab-cntk"]["full"]["shards"] = 61  # 40 training + 20 test images
    with pytest.raises(ConfigError, match=r"tab-cntk\.full\.shards: 61 shards for 40 training and 20 test rows"
                                          r".*change the shard count"):
        validate_config(config)


def test_mirroring_the_upper_triangle_restores_a_symmetric_matrix():
    from ntk_study.experiments.cntk_full import mirror_upper_triangle

    rng = np.random.default_rng(0)
    a = rng.normal(size=(37, 37))
    symmetric = a + a.T
    damaged = np.triu(symmetric) + np.tril(rng.normal(size=(37, 37)), -1)
    mirror_upper_triangle(damaged, chunk=8)
    np.testing.assert_array_equal(damaged, symmetric)


@pytest.fixture(scope="module")
def tiny_cifar(tmp_path_factory) -> dict[str, Path]:
    """A prepared-CIFAR file (the keys the loader reads) with 8x8 images of 10 noisy class means."""
    rng = np.random.default_rng(1)
    means = rng.integers(40, 215, size=(10, 8, 8, 3))

    def split(n):
        labels = np.arange(n) % 10
        images = np.clip(means[labels] + rng.normal(0, 120, size=(n, 8, 8, 3)), 0, 255).astype(np.uint8)
        return images, labels.astype(np.int64)

    path = tmp_path_factory.mktemp("prepared") / "cifar10.npz"
    (x_train, y_train), (x_test, y_test) = split(200), split(60)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return {"cifar10": path}


SETTINGS = {"image_size": 4, "depths": [3, 4], "full": {
    "n_train": 120, "n_test": 40, "shards": 4,
    "cnn": {"width": 32, "epochs": 60, "batch_size": 30, "learning_rate": 0.5, "momentum": 0.9}}}


@pytest.fixture(scope="module")
def shard_files(tiny_cifar, tmp_path_factory) -> list[Path]:
    from ntk_study.experiments.cntk_full import kernel_shard

    out = tmp_path_factory.mktemp("shards")
    files = [out / f"kernel_rows_{shard}.npy" for shard in range(SETTINGS["full"]["shards"])]
    for shard, path in enumerate(files):
        kernel_shard(SETTINGS, 0, shard, path, tiny_cifar)
    return files


def test_sharded_kernels_assemble_to_the_direct_cntk_and_solve_like_the_dense_regression(
        tiny_cifar, shard_files, tmp_path):
    import pandas as pd

    from ntk_study.experiments.cntk import kernel_regression_accuracy
    from ntk_study.experiments.cntk_full import assemble_training_gram, full_images, kernel_keys, solve
    from ntk_study.kernels.convolutional import cntk_by_depth

    (x_train, y_train), (x_test, y_test) = full_images(SETTINGS, 0, tiny_cifar)
    train, test = cntk_by_depth(x_train, x_train, [3, 4]), cntk_by_depth(x_test, x_train, [3, 4])
    solve(SETTINGS, 0, shard_files, tmp_path / "cntk.csv", tiny_cifar)
    solved = pd.read_csv(tmp_path / "cntk.csv").set_index(["readout", "depth"])["accuracy"]
    for index, key in enumerate(kernel_keys(SETTINGS)):
        gram = assemble_training_gram(SETTINGS, len(x_train), shard_files, index)
        np.testing.assert_allclose(gram, train[key], rtol=1e-5)  # float32 storage
        dense = 100 * kernel_regression_accuracy(train[key], test[key], y_train, y_test)
        assert solved[key] == pytest.approx(dense, abs=100 / len(y_test) + 1e-9)
    assert 20 < solved.min() and solved.max() < 100  # noisy classes: above chance, not trivial


def test_a_missing_shard_is_refused(tiny_cifar, shard_files, tmp_path):
    from ntk_study.experiments.cntk_full import solve

    with pytest.raises(ValueError, match="3 shard files given, the config gives 4"):
        solve(SETTINGS, 0, shard_files[:3], tmp_path / "cntk.csv", tiny_cifar)
    assert not (tmp_path / "cntk.csv").exists()


def test_minibatch_cnn_fits_the_squared_loss_to_the_kernel_targets(tiny_cifar, tmp_path):
    import pandas as pd

    from ntk_study.experiments.cntk_full import train_cnns

    train_cnns(SETTINGS, 0, 4, tmp_path / "cnn.csv", tiny_cifar)
    rows = pd.read_csv(tmp_path / "cnn.csv")
    assert list(rows["readout"]) == ["vanilla", "gap"] and set(rows["model"]) == {"CNN"}
    assert (rows["train_loss"] < rows["initial_train_loss"] / 2).all(), rows
    assert (rows["train_accuracy"] > 30).all(), rows  # chance: 10%


CLAIM_SETTINGS = {"train_sizes": [10, 20], "depths": [3, 4], "few_shot_depth": 3, "small_n": 20}


def _few_shot_rows(accuracy) -> list[dict]:
    """accuracies.csv rows with ``accuracy(draw, n, readout, depth, model)``."""
    return [{"draw": d, "n_train": n, "readout": r, "depth": depth, "model": m, "accuracy": accuracy(d, n, r, depth, m),
             "converged": True if m == "CNN" else None}
            for d in range(3) for n in (10, 20) for r in ("vanilla", "gap") for depth in (3, 4)
            for m in ("CNTK", "CNN") if m == "CNTK" or depth == 3]


def _write_few_shot(tmp_path, accuracy) -> None:
    import pandas as pd

    pd.DataFrame(_few_shot_rows(accuracy)).to_csv(tmp_path / "accuracies.csv", index=False)


def test_gap_claim_uses_the_full_setting_when_the_config_has_one(tmp_path):
    import pandas as pd

    from ntk_study.analysis.cntk import FULL_CNTK_FILE, claims, full_cnn_file

    settings = {**CLAIM_SETTINGS, "full": {"n_train": 50000, "n_test": 10000}}
    # few-shot: GAP below V
    _write_few_shot(tmp_path, lambda d, n, r, depth, m: 30.0 if r == "vanilla" else 29.0)
    (tmp_path / "full").mkdir()
    pd.DataFrame([{"model": "CNTK", "readout": r, "depth": depth, "n_train": 50000,
                   "accuracy": {"vanilla": 65.0, "gap": 76.0}[r]} for r in ("vanilla", "gap") for depth in (3, 4)]
                 ).to_csv(tmp_path / FULL_CNTK_FILE, index=False)
    for depth in (3, 4):
        pd.DataFrame([{"model": "CNN", "readout": r, "depth": depth, "n_train": 50000, "accuracy": 60.0}
                      for r in ("vanilla", "gap")]).to_csv(tmp_path / full_cnn_file(depth), index=False)
    gap = claims(tmp_path, settings, "paper")[0]
    # one full-CIFAR run per depth: the depths are the replicates
    assert gap.verdict == "holds" and gap.replicates == "2"
    assert "n = 50000 (one run per depth): depth 3: +11.0, depth 4: +11.0" in gap.details
    assert claims(tmp_path, CLAIM_SETTINGS, "quick")[0].verdict == "fails"


def test_gap_claim_needs_the_margin_at_every_depth_and_reports_the_standard_error(tmp_path):
    from ntk_study.analysis.cntk import claims

    # GAP leads by 4 at depth 3 (draws: 3, 4, 5 -> s.e. 0.58: undecided) but only by 2.5 at depth 4 (fails)
    _write_few_shot(tmp_path,
                    lambda d, n, r, depth, m: 30.0 + (0 if r == "vanilla" else (3.0 + d if depth == 3 else 2.5)))
    gap = claims(tmp_path, CLAIM_SETTINGS, "quick")[0]
    assert gap.verdict == "fails" and "shown: depth 4" in gap.details and float(gap.estimate) == pytest.approx(2.5)
    assert "depth 3: +4.0 ± 0.6" in gap.details and gap.replicates == "3"


@pytest.mark.parametrize("lead, verdict", [
    (lambda d: 8.0 + 0.5 * d, "holds"),  # GAP ahead by 8-9 points in every draw, at both depths
    (lambda d: (2.0, -1.0, 7.0)[d], "undecided"),  # mean 2.7, spread 4: the interval reaches past 3
    (lambda d: -1.0 - 0.5 * d, "fails"),
])
def test_gap_claim_per_draw(tmp_path, lead, verdict):
    from ntk_study.analysis.cntk import claims

    _write_few_shot(tmp_path, lambda d, n, r, depth, m: 30.0 + (lead(d) if r == "gap" else 0.0))
    gap = claims(tmp_path, CLAIM_SETTINGS, "quick")[0]
    assert gap.verdict == verdict and gap.replicates == "3"
    if verdict == "undecided":
        assert "replicates at the measured spread" in gap.to_decide


def test_cnn_claim_fails_when_the_cnn_wins_at_one_small_n_even_if_the_mean_lead_is_positive(tmp_path):
    from ntk_study.analysis.cntk import claims

    # CNTK ahead by 5 at n = 20, behind by 1 at n = 10 (a mean over cells would be +2)
    _write_few_shot(tmp_path,
                    lambda d, n, r, depth, m: 30.0 + (0 if m == "CNN" else (5.0 if n == 20 else -1.0 - d / 4)))
    cnn = claims(tmp_path, CLAIM_SETTINGS, "quick")[1]
    assert cnn.verdict == "fails" and "shown: gap n=10" in cnn.details
    assert "vanilla n=10: -1.2 ± 0.1" in cnn.details and "converged: 12 of 12" in cnn.details
    assert "2 holds, 2 fails" in cnn.details
    # ahead everywhere, by 5-6 points: holds; level on average, noisy: undecided
    _write_few_shot(tmp_path, lambda d, n, r, depth, m: 30.0 + (m == "CNTK") * (5.0 + d / 2))
    assert claims(tmp_path, CLAIM_SETTINGS, "quick")[1].verdict == "holds"
    _write_few_shot(tmp_path, lambda d, n, r, depth, m: 30.0 + (m == "CNTK") * (2.0, -2.0, 0.5)[d])
    assert claims(tmp_path, CLAIM_SETTINGS, "quick")[1].verdict == "undecided"


def test_the_learning_rate_is_picked_among_converged_runs_by_validation_accuracy():
    import pandas as pd

    from ntk_study.experiments.cntk import mark_chosen

    runs = pd.DataFrame({"n_train": [10] * 3 + [20] * 2, "readout": "gap", "learning_rate": [0.1, 0.3, 1.0, 0.1, 0.3],
                         "validation_accuracy": [30.0, 25.0, 20.0, 30.0, 25.0],
                         "converged": [False, True, True, False, False], "train_loss": [0.5, 0.01, 0.01, 0.2, 0.1]})
    chosen = mark_chosen(runs).query("chosen")
    # n = 10: the unconverged 0.1 validates best but is not eligible; n = 20: none converged, lowest loss
    assert list(chosen["learning_rate"]) == [0.3, 0.3]


def test_every_draw_has_its_own_test_images(tiny_cifar):
    from ntk_study.experiments.cntk import draws_with_test_sets

    settings = {"train_sizes": [10, 20], "n_test": 15, "draws": 3, "image_size": 4}
    draws = draws_with_test_sets(settings, 0, tiny_cifar)
    tests = [x_test.reshape(len(x_test), -1) for _, (x_test, _) in draws]
    assert [len(t) for t in tests] == [15] * 3
    stacked = np.concatenate(tests)
    assert len(np.unique(stacked, axis=0)) == len(stacked)  # noisy images: equal rows would be the same image
    assert all(len(pool[0]) == 20 for pool, _ in draws)
