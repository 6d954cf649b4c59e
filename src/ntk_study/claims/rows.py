"""Claim rows: what each figure's claims stage writes to ``results/<id>/claims.csv``.

A row carries the catalogue's statement of the claim (statistic, threshold, what one replicate
is) and what the results gave: the estimate, its interval over the replicates and the verdict
(``ntk_study.claims.verdict``). Verdicts are computed from the numbers and never adjusted: a
failing claim is shown failing.

Kinds of claim:
- ``replicated``: a stochastic statement, decided from an interval over replicates;
- ``exact``: a deterministic statement (a sequence of cited numbers, a kernel equal to a
  reference) checked against a stated tolerance;
- ``code check``: true by construction when the code is right; reported, but not evidence for
  the lecture's claim and not counted among the decided claims;
- ``illustration``: one run that shows what the lecture's sentence describes where its outcome is
  forced by something else (e.g. linear stability); checked like an exact check against its stated
  condition, reported, and not counted among the decided claims.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ntk_study import catalog
from ntk_study.claims.verdict import (
    FAILS,
    HOLDS,
    MAX_REPLICATES_TO_NAME,
    UNDECIDED,
    Evidence,
    Threshold,
    replicates_to_decide,
    t_interval,
)
from ntk_study.io import atomic_path

REPLICATED, EXACT, CODE_CHECK, ILLUSTRATION = "replicated", "exact", "code check", "illustration"
# Kinds reported beside the claims but not evidence for them (not counted among the verdicts).
NOT_EVIDENCE = (CODE_CHECK, ILLUSTRATION)
NOT_TESTABLE = "not testable at this scale"
NOT_REPRODUCED = "not reproduced yet"
VERDICTS = (HOLDS, FAILS, UNDECIDED, NOT_TESTABLE, NOT_REPRODUCED)
COLUMNS = ["id", "claim", "kind", "statistic", "replicate", "replicates", "estimate", "low", "high", "threshold",
           "verdict", "to_decide", "details", "scale", "published"]


@dataclass(frozen=True)
class ClaimRow:
    """One claim's row of the scorecard (all cells as text, as written to CSV)."""

    id: str
    claim: str
    kind: str
    statistic: str
    replicate: str
    replicates: str
    estimate: str
    low: str
    high: str
    threshold: str
    verdict: str
    to_decide: str
    details: str
    scale: str
    published: str


def _spec(figure_id: str, key: str) -> catalog.ClaimSpec:
    return next(c for c in catalog.figure(figure_id).claims if c.key == key)


def _row(spec: catalog.ClaimSpec, figure_id: str, scale: str, *, verdict: str, details: str,
         evidence: Evidence | None = None, threshold: str | None = None, to_decide: str = "") -> ClaimRow:
    numbers = ("", "", "", "") if evidence is None else (
        str(evidence.replicates), format_number(evidence.estimate), format_number(evidence.low),
        format_number(evidence.high))
    return ClaimRow(figure_id, spec.claim, spec.kind, spec.statistic, spec.replicate, *numbers,
                    threshold if threshold is not None else spec.threshold_text(), verdict, to_decide, details,
                    scale, spec.published)


def decide(figure_id: str, key: str, values: Sequence[float], scale: str, details: str = "") -> ClaimRow:
    """A replicated claim decided from one value of its statistic per replicate."""
    return decide_from(figure_id, key, t_interval(values), scale, details)


def decide_from(figure_id: str, key: str, evidence: Evidence, scale: str, details: str = "") -> ClaimRow:
    """A replicated claim decided from an estimate and interval computed elsewhere."""
    spec = _spec(figure_id, key)
    if spec.kind != REPLICATED or spec.threshold is None:
        raise ValueError(f"{figure_id}/{key} is a {spec.kind} claim, not a replicated one with a threshold")
    threshold = Threshold.from_spec(spec.threshold)
    verdict = threshold.decide(evidence.low, evidence.high)
    return _row(spec, figure_id, scale, verdict=verdict, details=details, evidence=evidence,
                to_decide=what_would_decide(evidence, threshold) if verdict == UNDECIDED else "")


def decide_every(figure_id: str, key: str, groups: Mapping[str, Sequence[float]], scale: str,
                 details: str = "", noun: str = "group") -> ClaimRow:
    """A claim that must hold in every group (each baseline, depth, data set, cell of a table),
    each group decided from its own replicates by the study's rule (``ntk_study.claims.decide``).

    The claim holds when every group holds, fails when any group fails, and is undecided
    otherwise (an intersection-union rule: no per-group correction is needed for "holds"). The
    row shows the least favourable group (a failing one, else an undecided one, else the holding
    one nearest its threshold) and says how the other groups stand. Unlike the worst value per
    replicate, this does not shift the statistic by noise: a minimum over many noisy cells falls
    below every cell's mean."""
    if not groups:
        raise ValueError(f"{figure_id}/{key}: no group to decide")
    spec = _spec(figure_id, key)
    threshold = Threshold.from_spec(spec.threshold)
    rank = {FAILS: 0, UNDECIDED: 1, HOLDS: 2}
    standing = {}
    for name, values in groups.items():
        evidence = t_interval(values)
        verdict = threshold.decide(evidence.low, evidence.high)
        standing[name] = (rank[verdict], threshold.signed_margin(evidence.estimate), verdict)
    shown = min(groups, key=lambda name: standing[name][:2])
    tally = Counter(verdict for _, _, verdict in standing.values())
    counts = ", ".join(f"{tally[v]} {v}" for v in (HOLDS, FAILS, UNDECIDED) if tally[v])
    nouns = f"{noun}es" if noun.endswith("s") else f"{noun}s"
    summary = (f"every {noun} must hold; {len(groups)} {nouns}: {counts}; shown: {shown}" if len(groups) > 1
               else f"one {noun}: {shown}")
    return decide(figure_id, key, list(groups[shown]), scale, details=f"{summary}; {details}" if details else summary)


def what_would_decide(evidence: Evidence, threshold: Threshold) -> str:
    """For an undecided claim: the replicates that would decide it at the measured spread."""
    if math.isnan(evidence.spread):
        return f"at least 2 replicates (this scale runs {evidence.replicates}: no spread to size an interval)"
    needed = replicates_to_decide(evidence, threshold)
    if needed is None:
        return "no number of replicates: the estimate sits on the threshold"
    if needed > MAX_REPLICATES_TO_NAME:
        return (f"more than {MAX_REPLICATES_TO_NAME:,} replicates at the measured spread "
                f"{format_number(evidence.spread)}: a larger scale, not more seeds")
    return f"about {needed} replicates at the measured spread {format_number(evidence.spread)}"


def exact(figure_id: str, key: str, value: float, holds: bool, scale: str, details: str = "") -> ClaimRow:
    """A deterministic claim (or a code check, or an illustration) checked against the tolerance
    or condition stated in the catalogue."""
    spec = _spec(figure_id, key)
    if spec.kind not in (EXACT, *NOT_EVIDENCE):
        raise ValueError(f"{figure_id}/{key} is a {spec.kind} claim; exact checks are for exact claims")
    evidence = Evidence(value, value, value, 1, 0.0)
    return _row(spec, figure_id, scale, verdict=HOLDS if holds else FAILS, details=details, evidence=evidence)


def not_testable(figure_id: str, key: str, scale: str, why: str) -> ClaimRow:
    """A claim whose premise this scale does not contain (said, with why, instead of a verdict)."""
    return _row(_spec(figure_id, key), figure_id, scale, verdict=NOT_TESTABLE, details=why)


def pending(figure_id: str, scale: str) -> list[ClaimRow]:
    """Rows for a figure that the study does not regenerate yet."""
    return [_row(spec, figure_id, scale, verdict=NOT_REPRODUCED, details="")
            for spec in catalog.figure(figure_id).claims]


def write_claims(path: str | Path, rows: list[ClaimRow]) -> None:
    frame = pd.DataFrame([asdict(row) for row in rows], columns=COLUMNS)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_claims(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def format_number(value: float) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e6):
        return str(int(value))
    if math.isnan(value):
        return ""
    return f"{value:.4g}"
