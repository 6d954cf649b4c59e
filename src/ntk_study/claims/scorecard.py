"""The scorecard: every figure's claim rows in catalogue order, and a summary row."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from ntk_study import catalog
from ntk_study.claims.rows import COLUMNS, NOT_REPRODUCED, REPLICATED, exact, read_claims
from ntk_study.claims.verdict import FAILS, HOLDS, UNDECIDED

SCORECARD_ID = "tab-scorecard"


def verdict_tally(rows: pd.DataFrame) -> dict[str, int]:
    """How many replicated claims hold, fail and are undecided (code checks and exact checks
    are not evidence from replicates and are left out)."""
    replicated = rows[rows["kind"] == REPLICATED]
    return {verdict: int((replicated["verdict"] == verdict).sum()) for verdict in (HOLDS, FAILS, UNDECIDED)}


def build_scorecard(claim_files: list[str | Path], scale: str) -> pd.DataFrame:
    """Concatenate claim files in catalogue order and add the study-wide summary row."""
    frames = [read_claims(path) for path in claim_files]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    table = table[table["id"] != SCORECARD_ID]
    order = {spec.id: i for i, spec in enumerate(catalog.figures())}
    table = table.sort_values("id", key=lambda ids: ids.map(order), kind="stable")
    checked = int((table["verdict"] != NOT_REPRODUCED).sum())
    tally = verdict_tally(table)
    summary = exact(
        SCORECARD_ID, "all-reproduced", checked, holds=checked == len(table), scale=scale,
        details=(f"{checked} of {len(table)} claims checked; replicated claims: {tally[HOLDS]} hold, "
                 f"{tally[FAILS]} fail, {tally[UNDECIDED]} undecided"),
    )
    return pd.concat([table, pd.DataFrame([asdict(summary)])], ignore_index=True)[COLUMNS]
