"""The study-wide verdict rule and the catalogue's statement of every claim."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ntk_study import catalog
from ntk_study.claims import (
    CODE_CHECK,
    EXACT,
    FAILS,
    HOLDS,
    ILLUSTRATION,
    REPLICATED,
    UNDECIDED,
    Threshold,
    decide,
    t_interval,
)
from ntk_study.claims.verdict import replicates_to_decide

KINDS = {REPLICATED, EXACT, CODE_CHECK, ILLUSTRATION}


def test_every_claim_is_stated_before_any_run():
    """Statistic, threshold and replicate are in the catalogue for every claim (and a replicated
    claim's threshold is a number the rule can use)."""
    for spec in catalog.figures():
        for claim in spec.claims:
            where = f"{spec.id}/{claim.key}"
            assert claim.kind in KINDS, where
            assert claim.statistic and claim.replicate and claim.threshold, where
            if claim.kind == REPLICATED:
                assert isinstance(claim.threshold, dict), where
                Threshold.from_spec(claim.threshold)  # parses
            else:
                assert isinstance(claim.threshold, str), where


def test_t_interval_is_the_student_interval_of_the_mean():
    values = [1.0, 2.0, 4.0, 7.0]
    evidence = t_interval(values)
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert evidence.estimate == pytest.approx(3.5)
    assert (evidence.low, evidence.high) == pytest.approx((3.5 - half, 3.5 + half))
    assert evidence.replicates == 4


def test_interval_covers_the_true_mean_at_its_level():
    rng = np.random.default_rng(0)
    covered = [(e.low < 0 < e.high) for e in (t_interval(rng.normal(size=5)) for _ in range(2000))]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.015)


@pytest.mark.parametrize("threshold, low, high, verdict", [
    (Threshold(lower=0), 0.1, 0.5, HOLDS),
    (Threshold(lower=0), -0.5, -0.1, FAILS),
    (Threshold(lower=0), -0.1, 0.5, UNDECIDED),
    (Threshold(upper=1), 0.2, 0.9, HOLDS),
    (Threshold(upper=1), 1.1, 1.5, FAILS),
    (Threshold(-0.6, -0.4), -0.55, -0.45, HOLDS),
    (Threshold(-0.6, -0.4), -0.3, -0.1, FAILS),
    (Threshold(-0.6, -0.4), -0.9, -0.7, FAILS),
    (Threshold(-0.6, -0.4), -0.65, -0.45, UNDECIDED),
    (Threshold(-0.6, -0.4), -0.7, -0.3, UNDECIDED),  # wider than the band: neither inside nor outside
    (Threshold(lower=0), math.nan, math.nan, UNDECIDED),
])
def test_verdict_is_where_the_interval_lies(threshold, low, high, verdict):
    assert threshold.decide(low, high) == verdict


def test_replicates_to_decide_shrinks_the_interval_past_the_threshold():
    rng = np.random.default_rng(1)
    values = 0.3 + rng.normal(size=4)  # a small effect in large noise: undecided with 4
    evidence, threshold = t_interval(values), Threshold(lower=0)
    assert threshold.decide(evidence.low, evidence.high) == UNDECIDED
    needed = replicates_to_decide(evidence, threshold)
    half_width = stats.t.ppf(0.975, needed - 1) * evidence.spread / math.sqrt(needed)
    assert half_width < abs(evidence.estimate)
    assert stats.t.ppf(0.975, needed - 2) * evidence.spread / math.sqrt(needed - 1) >= abs(evidence.estimate)


def test_a_single_replicate_is_undecided_and_asks_for_more():
    row = decide("fig-ntk-init", "slope", [-0.5], "test")
    assert row.verdict == UNDECIDED and row.replicates == "1" and row.low == ""
    assert "at least 2 replicates" in row.to_decide


def test_decide_reports_estimate_interval_and_the_catalogue_statement():
    row = decide("fig-ntk-init", "slope", [-0.52, -0.49, -0.5, -0.51], "test", details="d")
    assert row.verdict == HOLDS and row.threshold == "in (-0.6, -0.4)" and row.to_decide == ""
    assert float(row.low) < float(row.estimate) < float(row.high)
    assert row.replicate.startswith("initialisation seed") and row.statistic.startswith("log-log slope")
    noisy = decide("fig-ntk-init", "slope", [-0.2, -0.8, -0.45, -0.6], "test")
    assert noisy.verdict == UNDECIDED and noisy.to_decide.startswith("about ")


def test_a_non_finite_replicate_is_an_error_not_a_verdict():
    with pytest.raises(ValueError, match="not finite"):
        t_interval([1.0, math.inf])
