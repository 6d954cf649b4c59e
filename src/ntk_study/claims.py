"""Claim checks: one row per claim with its measured value, threshold and verdict.

Each figure writes ``results/<id>/claims.csv``; the scorecard concatenates them. The verdict
is computed from the numbers and never adjusted: a failing claim is shown failing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ntk_study import catalog
from ntk_study.io import atomic_path

COLUMNS = ["id", "claim", "measured", "threshold", "passed", "scale", "published"]
NOT_REPRODUCED = "not reproduced yet"


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim check, in the scorecard's columns."""

    id: str
    claim: str
    measured: str
    threshold: str
    passed: str  # "yes", "no" or NOT_REPRODUCED
    scale: str
    published: str


def check(figure_id: str, key: str, measured: float, threshold: str, passed: bool,
          scale: str, measured_text: str | None = None) -> ClaimResult:
    """Build a claim row from the catalogue entry ``figure_id``/``key`` and a measurement."""
    spec = next(c for c in catalog.figure(figure_id).claims if c.key == key)
    text = measured_text if measured_text is not None else _format_number(measured)
    return ClaimResult(figure_id, spec.claim, text, threshold, "yes" if passed else "no", scale, spec.published)


def pending(figure_id: str, scale: str) -> list[ClaimResult]:
    """Rows for a figure that the study does not regenerate yet."""
    return [
        ClaimResult(figure_id, c.claim, "", "", NOT_REPRODUCED, scale, c.published)
        for c in catalog.figure(figure_id).claims
    ]


def write_claims(path: str | Path, rows: list[ClaimResult]) -> None:
    frame = pd.DataFrame([asdict(row) for row in rows], columns=COLUMNS)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def build_scorecard(claim_files: list[str | Path], scale: str) -> pd.DataFrame:
    """Concatenate claim files in catalogue order and add the study-wide summary row."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in claim_files]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    table = table[table["id"] != "tab-scorecard"]
    order = {spec.id: i for i, spec in enumerate(catalog.figures())}
    table = table.sort_values("id", key=lambda ids: ids.map(order), kind="stable")
    checked = int((table["passed"] != NOT_REPRODUCED).sum())
    summary = check(
        "tab-scorecard", "all-reproduced", checked,
        threshold=f"all {len(table)} claims checked", passed=checked == len(table), scale=scale,
        measured_text=f"{checked} of {len(table)} claims checked, {int((table['passed'] == 'yes').sum())} pass",
    )
    return pd.concat([table, pd.DataFrame([asdict(summary)])], ignore_index=True)[COLUMNS]


def _format_number(value: float) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e6):
        return str(int(value))
    if math.isnan(value):
        return "nan"
    return f"{value:.3g}"
