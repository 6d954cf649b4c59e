"""The study's one rule for turning replicates into a verdict.

A claim's statistic is measured once per replicate (an initialisation seed, a label draw, a fold,
...). The estimate is the replicates' mean and its interval the two-sided 95% Student-t interval
of that mean. The claim **holds** when the whole interval lies on the claim's side of its
threshold, **fails** when the whole interval lies on the other side, and is **undecided** when
the interval straddles the threshold; an undecided row names how many replicates, at the measured
spread, would shrink the interval enough to decide it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"
# Beyond this many replicates we say "more than" instead of a number.
MAX_REPLICATES_TO_NAME = 10_000


@dataclass(frozen=True)
class Threshold:
    """Where the claim's statistic must lie: above ``lower``, below ``upper``, or between both."""

    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise ValueError("a threshold needs a lower bound, an upper bound or both")
        if self.lower is not None and self.upper is not None and not self.lower < self.upper:
            raise ValueError(f"empty band: lower {self.lower} >= upper {self.upper}")

    @classmethod
    def from_spec(cls, spec: dict) -> Threshold:
        """From the catalogue: ``{above: a}``, ``{below: b}`` or ``{within: [a, b]}``."""
        if "within" in spec:
            lower, upper = spec["within"]
            return cls(float(lower), float(upper))
        return cls(lower=float(spec["above"]) if "above" in spec else None,
                   upper=float(spec["below"]) if "below" in spec else None)

    def text(self) -> str:
        if self.lower is not None and self.upper is not None:
            return f"in ({self.lower:g}, {self.upper:g})"
        return f"> {self.lower:g}" if self.lower is not None else f"< {self.upper:g}"

    def decide(self, low: float, high: float) -> str:
        """The verdict for an interval [low, high] of the statistic."""
        if math.isnan(low) or math.isnan(high):
            return UNDECIDED
        above_lower = self.lower is None or low > self.lower
        below_upper = self.upper is None or high < self.upper
        if above_lower and below_upper:
            return HOLDS
        if (self.lower is not None and high < self.lower) or (self.upper is not None and low > self.upper):
            return FAILS
        return UNDECIDED

    def signed_margin(self, estimate: float) -> float:
        """How far ``estimate`` lies inside the claim's side (negative: outside)."""
        margins = [estimate - self.lower] if self.lower is not None else []
        margins += [self.upper - estimate] if self.upper is not None else []
        return min(margins)

    def margin(self, estimate: float) -> float:
        """Distance from ``estimate`` to the nearest bound: how far the interval may reach (inside
        the claim's side, the nearest bound; outside, the bound it misses)."""
        return abs(self.signed_margin(estimate))


@dataclass(frozen=True)
class Evidence:
    """The estimate of a statistic with its interval, from ``replicates`` values with sample
    standard deviation ``spread`` (nan where it is not known, e.g. a single replicate)."""

    estimate: float
    low: float
    high: float
    replicates: int
    spread: float


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Evidence:
    """Mean of the per-replicate values and its two-sided Student-t interval."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or not len(array):
        raise ValueError("t_interval needs a non-empty list of per-replicate values")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"a replicate's statistic is not finite: {array.tolist()}")
    mean = float(array.mean())
    if len(array) < 2:
        return Evidence(mean, math.nan, math.nan, 1, math.nan)
    spread = float(array.std(ddof=1))
    if spread == 0.0:
        return Evidence(mean, mean, mean, len(array), 0.0)
    low, high = stats.ttest_1samp(array, popmean=mean).confidence_interval(confidence)
    return Evidence(mean, float(low), float(high), len(array), spread)


def replicates_to_decide(evidence: Evidence, threshold: Threshold, confidence: float = CONFIDENCE) -> int | None:
    """The fewest replicates whose t interval, at the measured spread, would no longer reach the
    nearest bound from the estimate; None where no number would (estimate on a bound, or the
    spread unknown)."""
    margin = threshold.margin(evidence.estimate)
    if margin == 0.0 or math.isnan(evidence.spread):
        return None
    if evidence.spread == 0.0:
        return 2
    for n in range(2, MAX_REPLICATES_TO_NAME + 1):
        if stats.t.ppf(0.5 + confidence / 2, n - 1) * evidence.spread / math.sqrt(n) < margin:
            return n
    return MAX_REPLICATES_TO_NAME + 1
