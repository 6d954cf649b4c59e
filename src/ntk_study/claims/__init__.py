"""Claims: each lecture claim stated in the catalogue, decided from replicates, collected in one
scorecard. ``verdict`` holds the study-wide rule (interval, holds / fails / undecided), ``rows``
the claim rows the figures write, ``scorecard`` the table of all of them."""

from ntk_study.claims.rows import (
                                   CODE_CHECK,
                                   COLUMNS,
                                   EXACT,
                                   ILLUSTRATION,
                                   NOT_EVIDENCE,
                                   NOT_REPRODUCED,
                                   NOT_TESTABLE,
                                   REPLICATED,
                                   VERDICTS,
                                   ClaimRow,
                                   decide,
                                   decide_every,
                                   decide_from,
                                   exact,
                                   format_number,
                                   not_testable,
                                   pending,
                                   read_claims,
                                   write_claims,
)
from ntk_study.claims.scorecard import SCORECARD_ID, build_scorecard, verdict_tally
from ntk_study.claims.verdict import FAILS, HOLDS, UNDECIDED, Evidence, Threshold, t_interval

__all__ = ["CODE_CHECK", "COLUMNS", "EXACT", "FAILS", "HOLDS", "ILLUSTRATION", "NOT_EVIDENCE",
           "NOT_REPRODUCED", "NOT_TESTABLE", "REPLICATED",
           "SCORECARD_ID", "UNDECIDED", "VERDICTS", "ClaimRow", "Evidence", "Threshold", "build_scorecard",
           "decide", "decide_every", "decide_from", "exact", "format_number", "not_testable", "pending", "read_claims",
           "t_interval", "verdict_tally", "write_claims"]
