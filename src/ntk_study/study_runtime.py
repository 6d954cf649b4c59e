"""The study's time and CPU use, from Snakemake's benchmark files, per chapter beside the issues' budgets.

Every rule writes ``benchmarks/.../<rule>.tsv`` when it ends: its wall seconds (``s``) and the CPU
seconds of its process tree (``cpu_time``). A figure's rules sit under ``benchmarks/<figure-id>/``;
download and prepare rules under their own folders; the scorecard, the paper-scale estimate and the
book at the top. The budgets are those the project's issues set at quick scale, on the 2-core
machine the study is measured on: a chapter's as the sum of its rules' wall times, the whole study's
as the elapsed time from the first rule's start to the last rule's end (each file's modification
time is its rule's end; start = end - wall), which is only meaningful after a run from a clean state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Budget:
    group: str
    figure_ids: tuple[str, ...]
    minutes: float | None  # None: no budget of its own
    source: str


BUDGETS = (
    Budget("Chapter 2: the NTK", ("fig-lemma1-dynamics", "fig-ntk-init", "fig-ntk-stability",
                                  "fig-kernel-regression"), 10, "issue 3"),
    Budget("Background and chapter 3", ("fig-imagenet-winners", "fig-random-labels", "fig-overparam",
                                        "fig-convergence-mnist", "fig-convergence-cifar",
                                        "fig-projections-mnist", "fig-projections-cifar",
                                        "fig-generalization-bound"), 25, "issue 4"),
    Budget("Chapter 4: kernel tables", ("tab-uci", "tab-gntk", "tab-cntk"), 30, "issue 5"),
    Budget("Chapter 4: noisy labels", ("fig-noisy-labels-curve", "tab-noisy-labels", "fig-aux-is-ridge"),
           15, "issue 11"),
    Budget("Chapter 5: the NTK moves", ("fig-kernel-velocity", "fig-parent-child"), 15, "issue 12"),
    Budget("Chapter 5: initialisation", ("fig-phase-ntk-change", "fig-ntk-structure"), 10, "issue 13"),
)
DATA_GROUP, REPORT_GROUP = "Data: download and prepare", "Scorecard, provenance and book"
STUDY_MINUTES, STUDY_CPU_USE = 60.0, 1.8  # issue 16: all IDs, fresh clone to built book


def read_rules(benchmarks_dir: Path) -> pd.DataFrame:
    """One row per benchmark file: rule (its path under the folder), group, wall and CPU seconds, end time."""
    rows = []
    group_of = {figure: budget.group for budget in BUDGETS for figure in budget.figure_ids}
    for path in sorted(Path(benchmarks_dir).rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t")
        if table.empty:
            continue
        rule = path.relative_to(benchmarks_dir).with_suffix("").as_posix()
        folder = rule.split("/")[0] if "/" in rule else ""
        if folder in ("download", "prepare"):
            group = DATA_GROUP
        elif folder in group_of:
            group = group_of[folder]
        else:  # provenance/<id>, pending/<id>, scorecard, cluster_estimate, book, ...
            group = REPORT_GROUP
        rows.append({"rule": rule, "group": group, "wall_s": float(table["s"].iloc[-1]),
                     "cpu_s": float(pd.to_numeric(table["cpu_time"], errors="coerce").fillna(0).iloc[-1]),
                     "end": path.stat().st_mtime})
    if not rows:
        raise FileNotFoundError(f"no benchmark files under {benchmarks_dir}: run the study first")
    return pd.DataFrame(rows)


def summarise(rules: pd.DataFrame) -> pd.DataFrame:
    """Per budget group and for the whole study: rules, summed wall and CPU, CPU use, budget, verdict."""
    rows = []
    budgets = {budget.group: budget for budget in BUDGETS}
    for group in [budget.group for budget in BUDGETS] + [DATA_GROUP, REPORT_GROUP]:
        members = rules[rules["group"] == group]
        if members.empty:
            continue
        wall, cpu = members["wall_s"].sum(), members["cpu_s"].sum()
        budget = budgets.get(group)
        minutes = budget.minutes if budget else None
        rows.append({"group": group, "rules": len(members), "wall_min": round(wall / 60, 1),
                     "cpu_min": round(cpu / 60, 1), "cpu_use": round(cpu / wall, 2) if wall else 0.0,
                     "budget": f"{minutes:g} min of rule time ({budget.source})" if minutes else "",
                     "within": ("yes" if wall / 60 <= minutes else "no") if minutes else ""})
    elapsed = (rules["end"].max() - (rules["end"] - rules["wall_s"]).min()) / 60
    cpu = rules["cpu_s"].sum() / 60
    rows.append({"group": "Whole study (elapsed, first rule start to last rule end)", "rules": len(rules),
                 "wall_min": round(elapsed, 1), "cpu_min": round(cpu, 1),
                 "cpu_use": round(cpu / elapsed, 2) if elapsed else 0.0,
                 "budget": f"{STUDY_MINUTES:g} min elapsed, CPU use >= {STUDY_CPU_USE:g} (issue 16)",
                 "within": "yes" if elapsed <= STUDY_MINUTES and cpu / elapsed >= STUDY_CPU_USE else "no"})
    return pd.DataFrame(rows)


def with_replicate_costs(rules: pd.DataFrame, results_dir: Path) -> pd.DataFrame:
    """Adds, for each figure's compute rule, the most replicates any of its claims used
    (``results/<id>/claims.csv``) and the rule's wall seconds per replicate."""
    replicates = []
    for rule in rules["rule"]:
        figure, _, stage = rule.partition("/")
        claims = Path(results_dir) / figure / "claims.csv"
        counts = (pd.to_numeric(pd.read_csv(claims, dtype=str, keep_default_na=False)["replicates"], errors="coerce")
                  if stage == "compute" and claims.exists() else pd.Series(dtype=float))
        replicates.append(counts.max() if counts.notna().any() else float("nan"))
    replicates = pd.Series(replicates, index=rules.index)
    return rules.assign(replicates=replicates, s_per_replicate=rules["wall_s"] / replicates)


def tables(benchmarks_dir: Path, results_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and the per-rule table (largest first), with the cost per replicate of each
    compute rule when ``results_dir`` holds the claims."""
    rules = read_rules(benchmarks_dir)
    per_rule = rules.drop(columns="end").sort_values("wall_s", ascending=False)
    if results_dir is not None:
        per_rule = with_replicate_costs(per_rule, results_dir)
    return summarise(rules), per_rule.round(2)
