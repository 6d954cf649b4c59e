"""Verdicts do not follow the thread count: the same config at 1 and at 2 XLA threads sums its
floating-point reductions in another order, which moves the numbers in their last digits (and a
training run further); the verdicts, decided from intervals over replicates, must agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from checkout import REPO
from ntk_study.config import load_config

# Figures of the test config that need no dataset and whose kernels and training use XLA's pool.
FIGURES = ["fig-lemma1-dynamics", "fig-ntk-init", "fig-ntk-stability", "fig-kernel-regression"]


def _verdicts(figure_id: str, settings: dict, threads: int, results_dir) -> pd.DataFrame:
    env = {**os.environ, "NPROC": str(threads), "OMP_NUM_THREADS": str(threads)}
    for stage in ("compute", "claims"):
        extra = ["--seed", "0"] if stage == "compute" else ["--scale", "test"]
        run = subprocess.run([sys.executable, "-m", "ntk_study", stage, figure_id, "--settings", json.dumps(settings),
                              "--results-dir", str(results_dir), *extra], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr[-2000:]
    return pd.read_csv(results_dir / figure_id / "claims.csv", dtype=str, keep_default_na=False)


@pytest.mark.slow
@pytest.mark.parametrize("figure_id", FIGURES)
def test_verdicts_agree_at_one_and_two_threads(figure_id, tmp_path):
    settings = load_config(REPO / "config" / "test.yaml")["figures"][figure_id]
    one, two = (_verdicts(figure_id, settings, threads, tmp_path / str(threads)) for threads in (1, 2))
    assert one["verdict"].tolist() == two["verdict"].tolist(), pd.concat([one, two])[["claim", "estimate", "verdict"]]
